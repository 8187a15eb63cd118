"""The fault rig, shared by `make faults` (bench/faults/) and the short fault tests in tests/."""
