"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-28 12:22:17.228664
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.models

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('sites',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('layout', sa.String(length=100), nullable=False),
    sa.Column('created_at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('baseline_at', storage.models.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sites')),
    sa.UniqueConstraint('name', name=op.f('uq_sites_name'))
    )
    op.create_table('pages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=500), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('lang', sa.String(length=10), nullable=False),
    sa.Column('title', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('first_seen_at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('declared_raw', sa.String(length=200), nullable=True),
    sa.Column('declared_date', sa.Date(), nullable=True),
    sa.Column('current_version_id', sa.Integer(), nullable=True),
    sa.Column('etag', sa.String(length=200), nullable=True),
    sa.Column('last_modified', sa.String(length=100), nullable=True),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_pages_site_id_sites')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pages')),
    sa.UniqueConstraint('key', name=op.f('uq_pages_key'))
    )
    with op.batch_alter_table('pages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pages_site_id'), ['site_id'], unique=False)

    op.create_table('runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('trigger', sa.String(length=20), nullable=False),
    sa.Column('started_at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', storage.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_runs_site_id_sites')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_runs'))
    )
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_runs_site_id'), ['site_id'], unique=False)

    op.create_table('versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('page_id', sa.Integer(), nullable=False),
    sa.Column('text_hash', sa.String(length=64), nullable=False),
    sa.Column('title', sa.Text(), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('raw_hash', sa.String(length=64), nullable=False),
    sa.Column('raw_html', sa.LargeBinary(), nullable=False),
    sa.Column('first_seen_at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['page_id'], ['pages.id'], name=op.f('fk_versions_page_id_pages')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_versions')),
    sa.UniqueConstraint('page_id', 'text_hash', name=op.f('uq_versions_page_id'))
    )
    # pages <-> versions is a cycle: the pages side is added once both tables exist.
    with op.batch_alter_table('pages', schema=None) as batch_op:
        batch_op.create_foreign_key(op.f('fk_pages_current_version_id_versions'), 'versions', ['current_version_id'], ['id'])
    op.create_table('fetches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('page_id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.Column('fetched_at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('final_url', sa.Text(), nullable=True),
    sa.Column('http_status', sa.Integer(), nullable=True),
    sa.Column('etag', sa.String(length=200), nullable=True),
    sa.Column('last_modified', sa.String(length=100), nullable=True),
    sa.Column('raw_hash', sa.String(length=64), nullable=True),
    sa.Column('version_id', sa.Integer(), nullable=True),
    sa.Column('declared_raw', sa.String(length=200), nullable=True),
    sa.Column('declared_date', sa.Date(), nullable=True),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['page_id'], ['pages.id'], name=op.f('fk_fetches_page_id_pages')),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name=op.f('fk_fetches_run_id_runs')),
    sa.ForeignKeyConstraint(['version_id'], ['versions.id'], name=op.f('fk_fetches_version_id_versions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fetches'))
    )
    with op.batch_alter_table('fetches', schema=None) as batch_op:
        batch_op.create_index('ix_fetches_page_id_fetched_at', ['page_id', 'fetched_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_fetches_run_id'), ['run_id'], unique=False)

    op.create_table('changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('page_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('detected_at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('old_version_id', sa.Integer(), nullable=True),
    sa.Column('new_version_id', sa.Integer(), nullable=True),
    sa.Column('old_fetch_id', sa.Integer(), nullable=True),
    sa.Column('new_fetch_id', sa.Integer(), nullable=False),
    sa.Column('old_declared', sa.Date(), nullable=True),
    sa.Column('new_declared', sa.Date(), nullable=True),
    sa.Column('words_added', sa.Integer(), nullable=False),
    sa.Column('words_removed', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['new_fetch_id'], ['fetches.id'], name=op.f('fk_changes_new_fetch_id_fetches')),
    sa.ForeignKeyConstraint(['new_version_id'], ['versions.id'], name=op.f('fk_changes_new_version_id_versions')),
    sa.ForeignKeyConstraint(['old_fetch_id'], ['fetches.id'], name=op.f('fk_changes_old_fetch_id_fetches')),
    sa.ForeignKeyConstraint(['old_version_id'], ['versions.id'], name=op.f('fk_changes_old_version_id_versions')),
    sa.ForeignKeyConstraint(['page_id'], ['pages.id'], name=op.f('fk_changes_page_id_pages')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_changes'))
    )
    with op.batch_alter_table('changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_changes_page_id'), ['page_id'], unique=False)
        batch_op.create_index('ix_changes_status_detected_at', ['status', 'detected_at'], unique=False)

    op.create_table('reviews',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('change_id', sa.Integer(), nullable=False),
    sa.Column('decided_at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('reviewer', sa.String(length=100), nullable=True),
    sa.ForeignKeyConstraint(['change_id'], ['changes.id'], name=op.f('fk_reviews_change_id_changes')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reviews'))
    )
    with op.batch_alter_table('reviews', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reviews_change_id'), ['change_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('reviews', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reviews_change_id'))

    op.drop_table('reviews')
    with op.batch_alter_table('changes', schema=None) as batch_op:
        batch_op.drop_index('ix_changes_status_detected_at')
        batch_op.drop_index(batch_op.f('ix_changes_page_id'))

    op.drop_table('changes')
    with op.batch_alter_table('fetches', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_fetches_run_id'))
        batch_op.drop_index('ix_fetches_page_id_fetched_at')

    op.drop_table('fetches')
    with op.batch_alter_table('pages', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('fk_pages_current_version_id_versions'), type_='foreignkey')
    op.drop_table('versions')
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_runs_site_id'))

    op.drop_table('runs')
    with op.batch_alter_table('pages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pages_site_id'))

    op.drop_table('pages')
    op.drop_table('sites')
