"""goal endorsements: patrons and facilitators endorse a finished goal with a short comment

Revision ID: c4e8a1f0b2d6
Revises: 3468d68cea39
Create Date: 2026-12-03 09:50:00

"""
from alembic import op
import sqlalchemy as sa

import dap.db


# revision identifiers, used by Alembic.
revision = 'c4e8a1f0b2d6'
down_revision = '3468d68cea39'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('goal_endorsements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('goal_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('comment', sa.String(length=280), nullable=False),
    sa.Column('created_at', dap.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', dap.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_goal_endorsements_author_id_users')),
    sa.ForeignKeyConstraint(['goal_id'], ['plan_goals.id'], name=op.f('fk_goal_endorsements_goal_id_plan_goals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_goal_endorsements')),
    sa.UniqueConstraint('goal_id', 'author_id', name=op.f('uq_goal_endorsements_goal_id'))
    )
    with op.batch_alter_table('goal_endorsements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_goal_endorsements_author_id'), ['author_id'], unique=False)


def downgrade():
    with op.batch_alter_table('goal_endorsements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_goal_endorsements_author_id'))

    op.drop_table('goal_endorsements')
