"""PostgreSQL: pm_publish_new, a new part publish recorded in one statement

Revision ID: 0002
Revises: 0001

A publish holds its part's row lock from taking it to its commit. Sent statement by
statement, that is two round trips and the client's own turn on a busy CPU per publish,
and every other publisher of the part waits through them. Run as one function call in
autocommit, the lock lives only while the server runs the function (each statement of a
VOLATILE function sees what committed before it, as separate statements do).

The function does the common case only: a new publish from a saved scene ('created'). A
publish of the same part and numbers it finds without taking the lock and answers
'exists' with its id; anything else (no such scene, a re-used request id, a part or
scene spelled in another case) answers 'other'. Either way it has written nothing but
perhaps a part's completion number (a gap), and the caller decides: the repeated
request's first record, or the ordinary path, which gives the error.
SQLite has no functions; there the ordinary path is the only one.
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

FUNCTION = """
CREATE FUNCTION pm_publish_new(
    p_project_id bigint, p_key varchar, p_version integer, p_iteration integer,
    p_software varchar, p_artist varchar, p_scene varchar,
    p_asset varchar, p_part varchar, p_publishing boolean, p_request_id varchar,
    p_publish_id varchar, p_task_id bigint, p_target_type varchar, p_target_id bigint,
    p_item_usd_path varchar, p_part_usd_path varchar, p_asset_usd_path varchar,
    p_metadata jsonb, p_host varchar, p_now timestamp without time zone
) RETURNS TABLE (
    o_outcome text, o_id bigint, o_scene_id bigint, o_part_id bigint, o_artist_id bigint,
    o_seq integer
)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_scene record;
    v_part record;
BEGIN
    SELECT s.id, s.stream_id, s.artist_id, s.name, s.software, a.login INTO v_scene
    FROM scenes s
    JOIN scene_streams ss ON ss.id = s.stream_id
    JOIN artists a ON a.id = s.artist_id
    WHERE ss.project_id = p_project_id AND ss.key = p_key
      AND s.version = p_version AND s.iteration = p_iteration;
    IF NOT FOUND
       OR (v_scene.name, v_scene.software, v_scene.login) <> (p_scene, p_software, p_artist)
       OR (p_request_id IS NOT NULL
           AND EXISTS (SELECT 1 FROM publishes WHERE request_id = p_request_id)) THEN
        RETURN QUERY SELECT 'other'::text, NULL::bigint, NULL::bigint, NULL::bigint,
            NULL::bigint, NULL::integer;
        RETURN;
    END IF;
    -- A repeated request finds its publish without waiting for the part's lock.
    RETURN QUERY
    SELECT 'exists'::text, pub.id, pub.scene_id, pub.part_id, pub.created_by,
        pub.published_seq
    FROM publishes pub JOIN parts p ON p.id = pub.part_id
    WHERE p.stream_id = v_scene.stream_id AND lower(p.asset_name) = lower(p_asset)
      AND lower(p.name) = lower(p_part) AND pub.version = p_version
      AND pub.iteration = p_iteration;
    IF FOUND THEN
        RETURN;
    END IF;

    INSERT INTO parts AS p (stream_id, asset_name, name, publish_seq, withdrawn, created_at)
    VALUES (v_scene.stream_id, p_asset, p_part, p_publishing::integer, false, p_now)
    ON CONFLICT (stream_id, lower(asset_name), lower(name))
    DO UPDATE SET publish_seq = p.publish_seq + p_publishing::integer
    RETURNING p.id, p.asset_name, p.name, p.publish_seq INTO v_part;
    IF (v_part.asset_name, v_part.name) <> (p_asset, p_part)
       OR EXISTS (SELECT 1 FROM publishes pub WHERE pub.part_id = v_part.id
                  AND pub.version = p_version AND pub.iteration = p_iteration) THEN
        RETURN QUERY SELECT 'other'::text, NULL::bigint, NULL::bigint, NULL::bigint,
            NULL::bigint, NULL::integer;
        RETURN;
    END IF;

    IF p_publishing THEN
        UPDATE publishes SET is_latest = false
        WHERE publishes.part_id = v_part.id AND is_latest;
    END IF;
    RETURN QUERY
    WITH new AS (
        INSERT INTO publishes (
            publish_id, request_id, part_id, scene_id, task_id, target_type, target_id,
            software, asset_name, part_name, version, iteration, item_usd_path,
            part_usd_path, asset_usd_path, status, is_latest, published_seq, attempts,
            error, metadata, created_by, created_at, completed_at)
        VALUES (
            p_publish_id, p_request_id, v_part.id, v_scene.id, p_task_id, p_target_type,
            p_target_id, v_scene.software, v_part.asset_name, v_part.name, p_version,
            p_iteration, p_item_usd_path, p_part_usd_path, p_asset_usd_path,
            CASE WHEN p_publishing THEN 'published' ELSE 'pending' END, p_publishing,
            CASE WHEN p_publishing THEN v_part.publish_seq END, 1, NULL, p_metadata,
            v_scene.artist_id, p_now, CASE WHEN p_publishing THEN p_now END)
        RETURNING publishes.id
    ), event AS (
        INSERT INTO events (kind, entity_type, entity_id, artist_id, host, payload, created_at)
        SELECT CASE WHEN p_publishing THEN 'publish.published' ELSE 'publish.reserved' END,
            'publish', new.id, v_scene.artist_id, p_host, '{}'::jsonb, p_now
        FROM new
    )
    SELECT 'created'::text, new.id, v_scene.id, v_part.id, v_scene.artist_id,
        CASE WHEN p_publishing THEN v_part.publish_seq END
    FROM new;
END;
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(FUNCTION)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS pm_publish_new")
