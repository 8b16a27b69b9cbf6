"""The feed's forms. Lengths and links are checked by dap.community.services."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import MultipleFileField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice

from dap.community.models import KIND_LABELS


class PostForm(FlaskForm):
    kind = SelectField("Kind of post", choices=[
        SelectChoice(kind.value, label) for kind, label in KIND_LABELS.items()])
    body = TextAreaField("What would you like to share?", description=(
        "Markdown works: **bold**, *italic*, lists and links. Mention someone in the cohort "
        "with @ and their full name, like @Jordan Lee."))
    link_url = StringField("A link (optional)", render_kw={"inputmode": "url",
                                                           "placeholder": "https://"})
    link_text = StringField("What the link is, in a few words (optional)")
    images = MultipleFileField(
        "Photos (optional)", render_kw={"accept": "image/jpeg,image/png,image/webp"},
        description="JPEG, PNG or WebP, up to 10 MB each, 4 at most. Location and camera "
                    "details are removed. Only share photos of people who are happy to be "
                    "shared.")
    image_description = StringField("What the photos show (optional)",
                                    render_kw={"maxlength": 300},
                                    description="Read out to people who cannot see them.")


class CommentForm(FlaskForm):
    body = TextAreaField("Add a comment")


class ReasonForm(FlaskForm):
    reason = StringField("Why", render_kw={"maxlength": 300})
