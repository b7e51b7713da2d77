"""Tag the call: the tag shows in the report, and calls can be listed by tag."""

from __future__ import annotations

from b2bua.options.base import OptionContext, OptionFailed, Outcome


def tag(context: OptionContext) -> Outcome:
    name = context.settings.tag
    added = context.call.report.tag(name)
    if added is None:
        raise OptionFailed("the report could not store the tag")
    return Outcome(True, {"tag": name, "new": added})
