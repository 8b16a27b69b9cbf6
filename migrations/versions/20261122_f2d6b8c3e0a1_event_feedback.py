"""event feedback

Revision ID: f2d6b8c3e0a1
Revises: e1c5a7b2d9f0
Create Date: 2026-11-22 08:00:00

"""
from alembic import op
import sqlalchemy as sa

import dap.db


# revision identifiers, used by Alembic.
revision = 'f2d6b8c3e0a1'
down_revision = 'e1c5a7b2d9f0'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('event_feedback',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('usefulness', sa.Integer(), nullable=False),
    sa.Column('what_worked', sa.Text(), nullable=False),
    sa.Column('what_to_change', sa.Text(), nullable=False),
    sa.Column('created_at', dap.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', dap.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('usefulness >= 1 AND usefulness <= 5', name=op.f('ck_event_feedback_usefulness_1_to_5')),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_event_feedback_event_id_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_event_feedback_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_feedback')),
    sa.UniqueConstraint('event_id', 'user_id', name=op.f('uq_event_feedback_event_id'))
    )
    with op.batch_alter_table('event_feedback', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_event_feedback_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('event_feedback', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_event_feedback_user_id'))

    op.drop_table('event_feedback')
