-- The data `bench-tasks` lists: {total} tasks across 1,000 accounts, seeded with SQL.
-- The three measured accounts ({big}, {small}, {member}) were registered through the API
-- (which made their Inboxes); the other 997 are inserted here and never log in. The bench
-- substitutes the names in braces and runs the script as one.
--
-- * big:    {big_n} tasks in its Inbox;
-- * small:  {small_n} tasks in its Inbox;
-- * member: {small_n} tasks in its Inbox, and editor of {shared} lists of other accounts
--           holding {shared_n} tasks between them;
-- * the rest round-robin in the other accounts' Inboxes.
--
-- A title is three words of a 200-word vocabulary (each word on ~1.5 % of tasks) and one
-- word of its own, `t<n>` (n counts the tasks of one batch below), so a search can be for
-- a common word, a rare one or one that is absent. Tags: 0 to 3 of 20 names per task;
-- tag07 is on ~7 % of tasks.
INSERT INTO users (id, email, email_key, password_hash)
SELECT gen_random_uuid(), 'seed' || n || '@example.com', 'seed' || n || '@example.com', 'x'
FROM generate_series(1, 997) AS n
;
INSERT INTO lists (id, owner_id, name, is_inbox)
SELECT gen_random_uuid(), id, 'Inbox', true FROM users
WHERE NOT EXISTS (SELECT 1 FROM lists WHERE owner_id = users.id)
;
CREATE UNLOGGED TABLE bench_others AS
SELECT row_number() OVER (ORDER BY id) - 1 AS slot, id FROM users
WHERE id NOT IN ('{big}', '{small}', '{member}')
;
INSERT INTO lists (id, owner_id, name)
SELECT gen_random_uuid(), id, 'Shared ' || slot FROM bench_others WHERE slot < {shared}
;
INSERT INTO list_members (list_id, user_id, role)
SELECT id, '{member}', 'editor' FROM lists WHERE NOT is_inbox
;
-- Where each batch's tasks go: task n of a batch of k slots lands in the list of slot
-- (n / 200) % k, so that each list has whole runs of 200 (every title and tag pattern).
CREATE UNLOGGED TABLE bench_slots AS
SELECT 'big' AS batch, 0::bigint AS slot, id AS list_id FROM lists
 WHERE owner_id = '{big}' AND is_inbox
UNION ALL SELECT 'small', 0, id FROM lists WHERE owner_id = '{small}' AND is_inbox
UNION ALL SELECT 'member', 0, id FROM lists WHERE owner_id = '{member}' AND is_inbox
UNION ALL SELECT 'shared', row_number() OVER (ORDER BY id) - 1, id FROM lists WHERE NOT is_inbox
UNION ALL SELECT 'rest', o.slot, l.id FROM bench_others AS o
  JOIN lists AS l ON l.owner_id = o.id AND l.is_inbox
;
CREATE UNLOGGED TABLE bench_batches (batch text, tasks bigint)
;
INSERT INTO bench_batches VALUES ('big', {big_n}), ('small', {small_n}), ('member', {small_n}),
  ('shared', {shared_n}), ('rest', {total} - {big_n} - 2 * {small_n} - {shared_n})
;
CREATE UNLOGGED TABLE bench_words AS
SELECT n, (ARRAY['garden','dentist','invoice','report','groceries','call','email',
  'plan','review','meeting','book','clean','fix','order','pay','renew','send',
  'update','write','read'])[1 + n % 20] || CASE WHEN n < 20 THEN '' ELSE n::text END AS word
FROM generate_series(0, 199) AS n
;
CREATE UNLOGGED TABLE bench_titles AS
SELECT r AS residue, string_agg(word, ' ') AS words
FROM generate_series(0, 199) AS r, bench_words
WHERE n IN ((r * 7) % 200, (r * 13 + 1) % 200, (r * 31 + 2) % 200)
GROUP BY r
;
INSERT INTO tasks (id, list_id, title, description, status, priority, due_at,
                   completed_at, created_at, updated_at, tags)
SELECT gen_random_uuid(), s.list_id, t.words || ' t' || g,
       CASE WHEN g % 3 = 0 THEN 'Notes for task ' || g END,
       (ARRAY['todo','in_progress','done'])[1 + g % 3],
       (ARRAY['low','normal','high','urgent'])[1 + (g / 3) % 4],
       CASE WHEN g % 5 < 3 THEN now() + ((g % 120) - 60) * interval '1 day' END,
       CASE WHEN g % 3 = 2 THEN now() - (g % 525600) * interval '1 minute' END,
       now() - (g % 525600) * interval '1 minute',
       now() - (g % 525600) * interval '1 minute',
       ARRAY(SELECT 'tag' || lpad((1 + (g * k * 7) % 20)::text, 2, '0')
             FROM generate_series(1, g % 4) AS k)
FROM bench_batches AS b
CROSS JOIN LATERAL generate_series(1, b.tasks) AS g
JOIN (SELECT batch, count(*) AS slots FROM bench_slots GROUP BY batch) AS c USING (batch)
JOIN bench_slots AS s ON s.batch = b.batch AND s.slot = (g / 200) % c.slots
JOIN bench_titles AS t ON t.residue = g % 200
;
-- Every list's tag vocabulary, as the API would have built it.
INSERT INTO tags (list_id, key, name)
SELECT DISTINCT list_id, tag, tag FROM tasks, unnest(tags) AS tag
ON CONFLICT DO NOTHING
;
DROP TABLE bench_others, bench_slots, bench_batches, bench_words, bench_titles
