"""Template tags of the task list page."""

from django import template
from django.core.cache import InvalidCacheBackendError, caches
from django.core.cache.utils import make_template_fragment_key
from django.utils.safestring import mark_safe

from tasks import keys
from tasks.page_cache import CSRF_SLOT, NOTICE_SLOT
from tasks.typed_reads import typed, unexpected

register = template.Library()


@register.simple_tag
def csrf_slot():
    """Where the visitor's CSRF token goes, filled in by tasks.page_cache."""
    return mark_safe(CSRF_SLOT)


@register.simple_tag
def notice_slot():
    """Where a notice about the page goes (it may be out of date), put in by tasks.page_cache."""
    return mark_safe(NOTICE_SLOT)


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
        # A row is HTML text; anything else under its key is a miss, and is
        # replaced with the rows rendered below.
        cached = {}
        for key, row in fragments.get_many(row_keys).items():
            if isinstance(row, str):
                cached[key] = row
            else:
                unexpected(row, "a row fragment")
        rendered = {}
        with context.push():
            for key, item in zip(row_keys, items, strict=True):
                if key not in cached:
                    context[self.loop_var] = item
                    rendered[key] = self.nodelist.render(context)
        if rendered:
            fragments.set_many(rendered, keys.TTL_SECONDS)
        return mark_safe("".join(cached[key] if key in cached else rendered[key] for key in row_keys))


@register.tag
def typed_cache(parser, token):
    """{% typed_cache ttl name [vary_on ...] [using="alias"] %}...{% endtyped_cache %}

    Django's {% cache %}: the same arguments, key and cache alias, except
    that only a str read back is used. Anything else (a bare integer, a
    value of another type) is a miss, logged, and the fragment is rendered
    and stored anew; Django's tag would return it, and the page would fail
    with a 500 until the key changed (docs/caching.md, "Fragments").
    """
    nodelist = parser.parse(("endtyped_cache",))
    parser.delete_first_token()
    bits = token.split_contents()
    using = None
    if len(bits) > 3 and bits[-1].startswith("using="):
        using = parser.compile_filter(bits.pop().removeprefix("using="))
    if len(bits) < 3:
        raise template.TemplateSyntaxError(f"{bits[0]!r} tag requires at least 2 arguments.")
    vary_on = [parser.compile_filter(bit) for bit in bits[3:]]
    return TypedCacheNode(nodelist, parser.compile_filter(bits[1]), bits[2], vary_on, using)


class TypedCacheNode(template.Node):
    def __init__(self, nodelist, ttl, name, vary_on, using):
        self.nodelist = nodelist
        self.ttl = ttl
        self.name = name
        self.vary_on = vary_on
        self.using = using

    def render(self, context):
        ttl = self.ttl.resolve(context)
        try:
            ttl = None if ttl is None else int(ttl)
        except (ValueError, TypeError):
            raise template.TemplateSyntaxError(f"typed_cache tag got a non-integer timeout value: {ttl!r}") from None
        fragments = self.fragment_cache(context)
        key = make_template_fragment_key(self.name, [var.resolve(context) for var in self.vary_on])
        value = typed(fragments.get(key), str, f"the {self.name} fragment")
        if value is None:
            value = self.nodelist.render(context)
            fragments.set(key, value, ttl)
        return value

    def fragment_cache(self, context):
        if self.using is not None:
            name = self.using.resolve(context)
            try:
                return caches[name]
            except InvalidCacheBackendError:
                raise template.TemplateSyntaxError(f"Invalid cache name specified for cache tag: {name!r}") from None
        try:
            return caches["template_fragments"]
        except InvalidCacheBackendError:
            return caches["default"]
