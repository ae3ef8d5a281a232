from django.utils.translation import pgettext_lazy

from wufei.core.scope import request_scope

LIST_SEPARATOR = pgettext_lazy("separator between list items", ", ")


def navigation(request):
    """The caller's scope (menus show what the caller can reach) and the list separator (、 in Chinese)."""
    return {"scope": request_scope(request), "list_separator": LIST_SEPARATOR}
