"""outbox: a calendar invitation carried by an email; who was sent one

Revision ID: e1c5a7b2d9f0
Revises: 77b371e19282
Create Date: 2026-11-22 07:10:00

"""
from alembic import op
import sqlalchemy as sa

import dap.db


# revision identifiers, used by Alembic.
revision = 'e1c5a7b2d9f0'
down_revision = '77b371e19282'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('calendar_ics', sa.Text(), nullable=False, server_default=''))
    op.create_table('event_invitations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('sent_at', dap.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_event_invitations_event_id_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_event_invitations_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_invitations')),
    sa.UniqueConstraint('event_id', 'user_id', name=op.f('uq_event_invitations_event_id'))
    )
    with op.batch_alter_table('event_invitations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_event_invitations_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('event_invitations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_event_invitations_user_id'))
    op.drop_table('event_invitations')
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_column('calendar_ics')
