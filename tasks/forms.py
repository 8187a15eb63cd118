import re

from django import forms

from tasks.models import NAME_MAX_LENGTH, Task

# C0 and C1 control characters (tabs and newlines included: a name is one line).
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


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
            raise forms.ValidationError(
                "Task name can't contain control characters (tabs, line breaks and the like)."
            )
        return name
