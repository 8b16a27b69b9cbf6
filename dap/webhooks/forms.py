"""Webhook forms: shape only; the address and the event types are checked by the service."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectMultipleField, URLField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired
from wtforms.widgets import CheckboxInput, ListWidget

from dap.webhooks.services import EVENT_TYPES


class WebhookForm(FlaskForm):
    """A new subscription: where to post, and which events."""

    url = URLField("Address to post to", validators=[
        DataRequired("Enter the address DAP should post events to.")],
        description="An https:// address of your own tool, e.g. https://hooks.example.org/dap.",
        render_kw={"autocomplete": "off", "spellcheck": "false"})
    # unknown values are the service's to refuse (with a message naming them)
    events = SelectMultipleField(
        "Events to send",
        choices=[SelectChoice(name, label) for name, label in EVENT_TYPES.items()],
        validate_choice=False, widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput())
