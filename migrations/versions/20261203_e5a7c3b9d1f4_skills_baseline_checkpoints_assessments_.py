"""skills baseline: checkpoints, assessments, ratings and answers

Revision ID: e5a7c3b9d1f4
Revises: d9b3f2a7c1e5
Create Date: 2026-12-03 12:50:00

"""
from alembic import op
import sqlalchemy as sa

import dap.db


# revision identifiers, used by Alembic.
revision = 'e5a7c3b9d1f4'
down_revision = 'd9b3f2a7c1e5'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('baseline_checkpoints',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cohort_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('baseline', 'midpoint', 'final', name='checkpoint_kind', native_enum=False, length=20), nullable=False),
    sa.Column('opened_at', dap.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('opened_by_id', sa.Integer(), nullable=True),
    sa.Column('closes_at', dap.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_at', dap.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['cohort_id'], ['cohorts.id'], name=op.f('fk_baseline_checkpoints_cohort_id_cohorts')),
    sa.ForeignKeyConstraint(['opened_by_id'], ['users.id'], name=op.f('fk_baseline_checkpoints_opened_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_baseline_checkpoints')),
    sa.UniqueConstraint('cohort_id', 'kind', name=op.f('uq_baseline_checkpoints_cohort_id'))
    )
    with op.batch_alter_table('baseline_checkpoints', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_baseline_checkpoints_cohort_id'), ['cohort_id'], unique=False)

    op.create_table('baseline_assessments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('checkpoint_id', sa.Integer(), nullable=False),
    sa.Column('cohort_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('started_at', dap.db.UTCDateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('updated_at', dap.db.UTCDateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('submitted_at', dap.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['checkpoint_id'], ['baseline_checkpoints.id'], name=op.f('fk_baseline_assessments_checkpoint_id_baseline_checkpoints')),
    sa.ForeignKeyConstraint(['cohort_id'], ['cohorts.id'], name=op.f('fk_baseline_assessments_cohort_id_cohorts')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_baseline_assessments_recorded_by_id_users')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_baseline_assessments_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_baseline_assessments')),
    sa.UniqueConstraint('checkpoint_id', 'user_id', name=op.f('uq_baseline_assessments_checkpoint_id'))
    )
    with op.batch_alter_table('baseline_assessments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_baseline_assessments_checkpoint_id'), ['checkpoint_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_baseline_assessments_cohort_id'), ['cohort_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_baseline_assessments_user_id'), ['user_id'], unique=False)

    op.create_table('baseline_answers',
    sa.Column('assessment_id', sa.Integer(), nullable=False),
    sa.Column('question_id', sa.String(length=80), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('choices', sa.String(length=1000), nullable=False),
    sa.ForeignKeyConstraint(['assessment_id'], ['baseline_assessments.id'], name=op.f('fk_baseline_answers_assessment_id_baseline_assessments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('assessment_id', 'question_id', name=op.f('pk_baseline_answers'))
    )
    op.create_table('baseline_ratings',
    sa.Column('assessment_id', sa.Integer(), nullable=False),
    sa.Column('statement_id', sa.String(length=80), nullable=False),
    sa.Column('area', sa.String(length=80), nullable=False),
    sa.Column('value', sa.SmallInteger(), nullable=False),
    sa.CheckConstraint('value BETWEEN 1 AND 5', name=op.f('ck_baseline_ratings_value_1_to_5')),
    sa.ForeignKeyConstraint(['assessment_id'], ['baseline_assessments.id'], name=op.f('fk_baseline_ratings_assessment_id_baseline_assessments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('assessment_id', 'statement_id', name=op.f('pk_baseline_ratings'))
    )
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.add_column(sa.Column('baseline_shared', sa.Boolean(), server_default=sa.true(), nullable=False))
        batch_op.add_column(sa.Column('baseline_skipped_at', dap.db.UTCDateTime(timezone=True), nullable=True))

    # every cohort has its baseline checkpoint, open since the cohort was made
    op.execute("INSERT INTO baseline_checkpoints (cohort_id, kind, opened_at) "
               "SELECT id, 'baseline', created_at FROM cohorts")



def downgrade():
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.drop_column('baseline_skipped_at')
        batch_op.drop_column('baseline_shared')

    op.drop_table('baseline_ratings')
    op.drop_table('baseline_answers')
    with op.batch_alter_table('baseline_assessments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_baseline_assessments_user_id'))
        batch_op.drop_index(batch_op.f('ix_baseline_assessments_cohort_id'))
        batch_op.drop_index(batch_op.f('ix_baseline_assessments_checkpoint_id'))

    op.drop_table('baseline_assessments')
    with op.batch_alter_table('baseline_checkpoints', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_baseline_checkpoints_cohort_id'))

    op.drop_table('baseline_checkpoints')
