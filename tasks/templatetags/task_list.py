"""Template tags of the task list page."""

from django import template
from django.core.cache import caches
from django.utils.safestring import mark_safe

from tasks import keys
from tasks.page_cache import CSRF_SLOT

register = template.Library()


@register.simple_tag
def csrf_slot():
    """Where the visitor's CSRF token goes, filled in by tasks.page_cache."""
    return mark_safe(CSRF_SLOT)


@register.tag
def task_rows(parser, token):
    """{% task_rows task in tasks %}...{% endtask_rows %}

    A for loop whose body is a cached fragment per task, keyed on the task's
    content (tasks.keys.task_row): like {% cache %} inside {% for %}, but
    with one get_many for all rows and one set_many for the misses:
    rebuilding a list of N rows costs 2 round trips, not N.
    """
    bits = token.split_contents()
    if len(bits) != 4 or bits[2] != "in":
        raise template.TemplateSyntaxError("usage: {% task_rows task in tasks %}")
    nodelist = parser.parse(("endtask_rows",))
    parser.delete_first_token()
    return TaskRowsNode(bits[1], parser.compile_filter(bits[3]), nodelist)


class TaskRowsNode(template.Node):
    def __init__(self, loop_var, items, nodelist):
        self.loop_var = loop_var
        self.items = items
        self.nodelist = nodelist

    def render(self, context):
        items = list(self.items.resolve(context) or [])
        if not items:
            return ""
        fragments = caches["template_fragments"]
        row_keys = [keys.task_row(item) for item in items]
        # A row is HTML text; anything else under its key is a miss.
        cached = {key: row for key, row in fragments.get_many(row_keys).items() if isinstance(row, str)}
        rendered = {}
        with context.push():
            for key, item in zip(row_keys, items, strict=True):
                if key not in cached:
                    context[self.loop_var] = item
                    rendered[key] = self.nodelist.render(context)
        if rendered:
            fragments.set_many(rendered, keys.TTL_SECONDS)
        return mark_safe("".join(cached[key] if key in cached else rendered[key] for key in row_keys))
