"""Send the company's SMS business card to the client: queued in the outbox at once, sent by
its worker (status in the outbox, retried until delivered or failed)."""

from __future__ import annotations

from b2bua.options.base import OptionContext, OptionFailed, Outcome
from b2bua.store import normalize_number


def send_card(context: OptionContext) -> Outcome:
    settings = context.office.config().sms
    if settings is None:
        raise OptionFailed("no SMS gateway configured")
    number = normalize_number(context.client_number())
    text = context.settings.text or settings.card_text
    message = context.office.outbox.queue(number, text, context.call.id)
    return Outcome(True, {"number": number, "sms": message.id})
