"""email governance: preferences per category, caps per cohort, digest state, outbox recipient

Revision ID: d9b3f2a7c1e5
Revises: c4e8a1f0b2d6
Create Date: 2026-12-03 10:00:00

"""
from alembic import op
import sqlalchemy as sa

import dap.db


# revision identifiers, used by Alembic.
revision = 'd9b3f2a7c1e5'
down_revision = 'c4e8a1f0b2d6'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('message_preferences',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=30), nullable=False),
    sa.Column('delivery', sa.String(length=10), nullable=False),
    sa.Column('updated_at', dap.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_message_preferences_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_message_preferences')),
    sa.UniqueConstraint('user_id', 'category', name=op.f('uq_message_preferences_user_id'))
    )
    with op.batch_alter_table('cohorts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('emails_per_day_max', sa.Integer(), server_default='2', nullable=False))
        batch_op.add_column(sa.Column('emails_per_week_max', sa.Integer(), server_default='8', nullable=False))

    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_state', sa.Enum('none', 'queued', 'digest', 'digested', 'held', name='notification_email_state', native_enum=False, length=20), server_default='queued', nullable=False))
        batch_op.add_column(sa.Column('expires_at', dap.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_notifications_digest', ['user_id'], unique=False, postgresql_where=sa.text("email_state = 'digest'"), sqlite_where=sa.text("email_state = 'digest'"))

    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('user_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('category', sa.String(length=30), server_default='', nullable=False))
        batch_op.add_column(sa.Column('planned_at', dap.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('unsubscribe_url', sa.String(length=500), server_default='', nullable=False))
        batch_op.create_index('ix_outbox_messages_recipient', ['user_id', 'planned_at'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_outbox_messages_user_id_users'), 'users', ['user_id'], ['id'], ondelete='SET NULL')


def downgrade():
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_outbox_messages_user_id_users'), type_='foreignkey')
        batch_op.drop_index('ix_outbox_messages_recipient')
        batch_op.drop_column('unsubscribe_url')
        batch_op.drop_column('planned_at')
        batch_op.drop_column('category')
        batch_op.drop_column('user_id')

    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index('ix_notifications_digest', postgresql_where=sa.text("email_state = 'digest'"), sqlite_where=sa.text("email_state = 'digest'"))
        batch_op.drop_column('expires_at')
        batch_op.drop_column('email_state')

    with op.batch_alter_table('cohorts', schema=None) as batch_op:
        batch_op.drop_column('emails_per_week_max')
        batch_op.drop_column('emails_per_day_max')

    op.drop_table('message_preferences')
