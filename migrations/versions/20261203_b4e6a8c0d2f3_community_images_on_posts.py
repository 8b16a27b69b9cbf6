"""community: images on posts

Revision ID: b4e6a8c0d2f3
Revises: f7c2d4e6a8b1
Create Date: 2026-12-03 14:10:00

"""
from alembic import op
import sqlalchemy as sa

import dap.db


# revision identifiers, used by Alembic.
revision = 'b4e6a8c0d2f3'
down_revision = 'f7c2d4e6a8b1'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('community_post_images',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('post_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=32), nullable=False),
    sa.Column('format', sa.String(length=8), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('thumb_width', sa.Integer(), nullable=False),
    sa.Column('thumb_height', sa.Integer(), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('description', sa.String(length=300), nullable=False),
    sa.Column('created_at', dap.db.UTCDateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.ForeignKeyConstraint(['post_id'], ['community_posts.id'], name=op.f('fk_community_post_images_post_id_community_posts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_community_post_images')),
    sa.UniqueConstraint('key', name=op.f('uq_community_post_images_key'))
    )
    with op.batch_alter_table('community_post_images', schema=None) as batch_op:
        batch_op.create_index('ix_community_post_images_post', ['post_id', 'id'], unique=False)



def downgrade():
    with op.batch_alter_table('community_post_images', schema=None) as batch_op:
        batch_op.drop_index('ix_community_post_images_post')

    op.drop_table('community_post_images')
