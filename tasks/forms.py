import re
import unicodedata

from django import forms

from tasks.models import NAME_MAX_LENGTH, Task

# C0 and C1 control characters (tabs and newlines included: a name is one line).
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# Bidirectional controls: marks, embeddings, overrides and isolates. They can
# make a name read differently from what it is ("Trojan Source").
BIDI_CONTROLS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# Letters and symbols that show nothing: the Hangul fillers, the Braille blank.
BLANK_LOOKING = set("\u115f\u1160\u3164\uffa0\u2800")


def has_visible_character(name):
    """A letter, digit, punctuation mark or symbol; zero-width and other
    format characters, spaces and lone combining marks don't count."""
    return any(unicodedata.category(char)[0] in "LNPS" and char not in BLANK_LOOKING for char in name)


class TaskForm(forms.ModelForm):
    class Meta:
        model = Task
        fields = ["name"]
        labels = {"name": "Task name"}
        error_messages = {
            "name": {
                "required": "Task name is required.",
                "max_length": f"Task name is too long: at most {NAME_MAX_LENGTH} characters.",
            }
        }
        widgets = {"name": forms.TextInput(attrs={"placeholder": "What needs doing?"})}

    def clean_name(self):
        name = self.cleaned_data["name"]
        if CONTROL_CHARACTERS.search(name):
            raise forms.ValidationError("Task name can't contain control characters (tabs, line breaks and the like).")
        if BIDI_CONTROLS.search(name):
            raise forms.ValidationError(
                "Task name can't contain bidirectional control characters: they can make text "
                "read differently from what it is."
            )
        if not has_visible_character(name):
            raise forms.ValidationError("Task name needs at least one visible character.")
        return name
