"""community: posts, comments, kudos, reports, volunteer sharers

Revision ID: f7c2d4e6a8b1
Revises: e5a7c3b9d1f4
Create Date: 2026-12-03 13:55:00

"""
from alembic import op
import sqlalchemy as sa

import dap.db


# revision identifiers, used by Alembic.
revision = 'f7c2d4e6a8b1'
down_revision = 'e5a7c3b9d1f4'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('community_posts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cohort_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('reflection', 'tip', 'question', 'story', 'recap', name='post_kind', native_enum=False, length=20), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('link_url', sa.String(length=500), server_default='', nullable=False),
    sa.Column('link_text', sa.String(length=300), server_default='', nullable=False),
    sa.Column('goal_id', sa.Integer(), nullable=True),
    sa.Column('answered_at', dap.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('story_at', dap.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('featured_at', dap.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('featured_by_id', sa.Integer(), nullable=True),
    sa.Column('shared_across_at', dap.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', dap.db.UTCDateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('edited_at', dap.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('deleted_at', dap.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('hidden_at', dap.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('hidden_by_id', sa.Integer(), nullable=True),
    sa.Column('hidden_reason', sa.String(length=300), server_default='', nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_community_posts_author_id_users')),
    sa.ForeignKeyConstraint(['cohort_id'], ['cohorts.id'], name=op.f('fk_community_posts_cohort_id_cohorts')),
    sa.ForeignKeyConstraint(['featured_by_id'], ['users.id'], name=op.f('fk_community_posts_featured_by_id_users')),
    sa.ForeignKeyConstraint(['goal_id'], ['plan_goals.id'], name=op.f('fk_community_posts_goal_id_plan_goals')),
    sa.ForeignKeyConstraint(['hidden_by_id'], ['users.id'], name=op.f('fk_community_posts_hidden_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_community_posts'))
    )
    with op.batch_alter_table('community_posts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_community_posts_author_id'), ['author_id'], unique=False)
        batch_op.create_index('ix_community_posts_feed', ['cohort_id', 'created_at', 'id'], unique=False)

    op.create_table('community_comments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('post_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', dap.db.UTCDateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('edited_at', dap.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('deleted_at', dap.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('hidden_at', dap.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('hidden_by_id', sa.Integer(), nullable=True),
    sa.Column('hidden_reason', sa.String(length=300), server_default='', nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_community_comments_author_id_users')),
    sa.ForeignKeyConstraint(['hidden_by_id'], ['users.id'], name=op.f('fk_community_comments_hidden_by_id_users')),
    sa.ForeignKeyConstraint(['post_id'], ['community_posts.id'], name=op.f('fk_community_comments_post_id_community_posts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_community_comments'))
    )
    with op.batch_alter_table('community_comments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_community_comments_author_id'), ['author_id'], unique=False)
        batch_op.create_index('ix_community_comments_thread', ['post_id', 'created_at', 'id'], unique=False)

    op.create_table('community_kudos',
    sa.Column('post_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', dap.db.UTCDateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.ForeignKeyConstraint(['post_id'], ['community_posts.id'], name=op.f('fk_community_kudos_post_id_community_posts')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_community_kudos_user_id_users')),
    sa.PrimaryKeyConstraint('post_id', 'user_id', name=op.f('pk_community_kudos'))
    )
    with op.batch_alter_table('community_kudos', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_community_kudos_user_id'), ['user_id'], unique=False)

    op.create_table('community_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cohort_id', sa.Integer(), nullable=False),
    sa.Column('post_id', sa.Integer(), nullable=True),
    sa.Column('comment_id', sa.Integer(), nullable=True),
    sa.Column('reporter_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=300), nullable=False),
    sa.Column('created_at', dap.db.UTCDateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('resolved_at', dap.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('resolved_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('(post_id IS NULL) <> (comment_id IS NULL)', name=op.f('ck_community_reports_post_or_comment')),
    sa.ForeignKeyConstraint(['cohort_id'], ['cohorts.id'], name=op.f('fk_community_reports_cohort_id_cohorts')),
    sa.ForeignKeyConstraint(['comment_id'], ['community_comments.id'], name=op.f('fk_community_reports_comment_id_community_comments')),
    sa.ForeignKeyConstraint(['post_id'], ['community_posts.id'], name=op.f('fk_community_reports_post_id_community_posts')),
    sa.ForeignKeyConstraint(['reporter_id'], ['users.id'], name=op.f('fk_community_reports_reporter_id_users')),
    sa.ForeignKeyConstraint(['resolved_by_id'], ['users.id'], name=op.f('fk_community_reports_resolved_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_community_reports'))
    )
    with op.batch_alter_table('community_reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_community_reports_cohort_id'), ['cohort_id'], unique=False)
        batch_op.create_index('uq_community_reports_comment', ['reporter_id', 'comment_id'], unique=True, sqlite_where=sa.text('comment_id IS NOT NULL'), postgresql_where=sa.text('comment_id IS NOT NULL'))
        batch_op.create_index('uq_community_reports_post', ['reporter_id', 'post_id'], unique=True, sqlite_where=sa.text('post_id IS NOT NULL'), postgresql_where=sa.text('post_id IS NOT NULL'))

    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.add_column(sa.Column('is_volunteer_sharer', sa.Boolean(), server_default=sa.false(), nullable=False))



def downgrade():
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.drop_column('is_volunteer_sharer')

    with op.batch_alter_table('community_reports', schema=None) as batch_op:
        batch_op.drop_index('uq_community_reports_post', sqlite_where=sa.text('post_id IS NOT NULL'), postgresql_where=sa.text('post_id IS NOT NULL'))
        batch_op.drop_index('uq_community_reports_comment', sqlite_where=sa.text('comment_id IS NOT NULL'), postgresql_where=sa.text('comment_id IS NOT NULL'))
        batch_op.drop_index(batch_op.f('ix_community_reports_cohort_id'))

    op.drop_table('community_reports')
    with op.batch_alter_table('community_kudos', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_community_kudos_user_id'))

    op.drop_table('community_kudos')
    with op.batch_alter_table('community_comments', schema=None) as batch_op:
        batch_op.drop_index('ix_community_comments_thread')
        batch_op.drop_index(batch_op.f('ix_community_comments_author_id'))

    op.drop_table('community_comments')
    with op.batch_alter_table('community_posts', schema=None) as batch_op:
        batch_op.drop_index('ix_community_posts_feed')
        batch_op.drop_index(batch_op.f('ix_community_posts_author_id'))

    op.drop_table('community_posts')
