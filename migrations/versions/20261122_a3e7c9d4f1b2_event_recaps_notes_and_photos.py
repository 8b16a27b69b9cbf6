"""event recaps: notes and photos

Revision ID: a3e7c9d4f1b2
Revises: f2d6b8c3e0a1
Create Date: 2026-11-22 08:30:00

"""
from alembic import op
import sqlalchemy as sa

import dap.db


# revision identifiers, used by Alembic.
revision = 'a3e7c9d4f1b2'
down_revision = 'f2d6b8c3e0a1'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('event_recap_notes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', dap.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', dap.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_event_recap_notes_author_id_users')),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_event_recap_notes_event_id_events'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_recap_notes')),
    sa.UniqueConstraint('event_id', 'author_id', name=op.f('uq_event_recap_notes_event_id'))
    )
    with op.batch_alter_table('event_recap_notes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_event_recap_notes_author_id'), ['author_id'], unique=False)

    op.create_table('event_photos',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=32), nullable=False),
    sa.Column('format', sa.String(length=8), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('thumb_width', sa.Integer(), nullable=False),
    sa.Column('thumb_height', sa.Integer(), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('caption', sa.String(length=300), nullable=False),
    sa.Column('created_at', dap.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_event_photos_event_id_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], name=op.f('fk_event_photos_uploaded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_photos')),
    sa.UniqueConstraint('key', name=op.f('uq_event_photos_key'))
    )
    with op.batch_alter_table('event_photos', schema=None) as batch_op:
        batch_op.create_index('ix_event_photos_event', ['event_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_event_photos_uploaded_by_id'), ['uploaded_by_id'], unique=False)


def downgrade():
    with op.batch_alter_table('event_photos', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_event_photos_uploaded_by_id'))
        batch_op.drop_index('ix_event_photos_event')
    op.drop_table('event_photos')
    with op.batch_alter_table('event_recap_notes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_event_recap_notes_author_id'))
    op.drop_table('event_recap_notes')
