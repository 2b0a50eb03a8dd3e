-- Backup/restore fixture: rows in every application table of schema public, chosen to
-- exercise the values a dump and reload most easily get wrong: every value of every
-- CHECK-enumerated column, NULL and non-NULL in every nullable column, unicode (accents,
-- CJK, emoji, right-to-left), tab/newline/backslash and a literal "\N" (COPY's NULL
-- marker) in text, an empty string beside NULL, a ~1 MB text value, geography points
-- with many decimals and at the edges of the globe, nested unicode jsonb and huge jsonb
-- numbers, timestamps with time zones, fractional seconds and a BC date, bigint extremes,
-- real NaN/Infinity, and driver_locations rows in both migration-made and extra
-- partitions.
--
-- Run once on a freshly migrated database (the demo seed may be present: nothing here
-- shares its ids, emails, slugs, order numbers, employee ids or S3 keys). Fixed ids are
-- b0000000-0000-4000-8000-0000000000NN; emails are backup-fixture-N@readyset.test.
-- Identity columns (user_audits, order_status_history, outbox, outbox_attempts) take
-- their sequence's values, so a restore must also carry the sequences forward.
-- One batch, no psql meta-commands.

BEGIN;

-- Users: every role and status; DELETED rows carry deleted_at (CHECK).
INSERT INTO users (id, email, password_hash, role, status, name, contact_name, company_name, phone,
                   website, is_temporary_password, created_at, updated_at, deleted_at, deleted_by,
                   deletion_reason) VALUES
    ('b0000000-0000-4000-8000-000000000001', 'backup-fixture-1@readyset.test',
        '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA', 'ADMIN', 'ACTIVE',
        'Zoë’s Café — 東京 🚚', 'Zoë O’Brien', 'Zoë’s Café — 東京 🚚', '+1 (415) 555-0199',
        'https://example.test/zoë?q=東京&x=1#🚚', false,
        '2024-02-29 23:59:59.999999+14:00', '2024-03-01 00:00:00.000001-12:00', NULL, NULL, NULL),
    ('b0000000-0000-4000-8000-000000000002', 'backup-fixture-2@readyset.test',
        NULL, 'CLIENT', 'ACTIVE', NULL, NULL, NULL, NULL, NULL, false,
        '1999-12-31 23:59:59.5+00', '1999-12-31 23:59:59.5+00', NULL, NULL, NULL),
    ('b0000000-0000-4000-8000-000000000003', 'backup-fixture-3@readyset.test',
        'plain-hash', 'VENDOR', 'PENDING', 'שלום עולם — مرحبا بالعالم',
        E'tab\there\nnewline\\backslash and a literal \\N', 'مطعم السلام', '', '', false,
        '2023-06-15 08:30:00.123+05:30', '2023-06-15 08:30:00.123+05:30', NULL, NULL, NULL),
    ('b0000000-0000-4000-8000-000000000004', 'backup-fixture-4@readyset.test',
        'h4', 'DRIVER', 'ACTIVE', 'Driver Ünïcödé 🚗', NULL, NULL, '4155550144', NULL, false,
        now() - interval '30 days', now() - interval '1 day', NULL, NULL, NULL),
    ('b0000000-0000-4000-8000-000000000005', 'backup-fixture-5@readyset.test',
        'h5', 'DRIVER', 'ACTIVE', 'Driver Five', NULL, NULL, NULL, NULL, false,
        now() - interval '20 days', now() - interval '20 days', NULL, NULL, NULL),
    ('b0000000-0000-4000-8000-000000000006', 'backup-fixture-6@readyset.test',
        'h6', 'HELPDESK', 'PENDING', E'\\N', NULL, NULL, NULL, NULL, true,
        '2020-01-01 00:00:00+00', '2020-01-01 00:00:00+00', NULL, NULL, NULL),
    ('b0000000-0000-4000-8000-000000000007', 'backup-fixture-7@readyset.test',
        'h7', 'SUPER_ADMIN', 'DELETED', 'Deleted Super', 'Gone', 'Ready Set', '4155550177',
        'https://gone.example.test', true,
        '2021-05-05 05:05:05.050505+02:00', '2022-06-06 06:06:06.606060+02:00',
        '2022-06-06 06:06:06.606060+02:00', 'b0000000-0000-4000-8000-000000000001',
        E'Reason with\ttab,\nnewline, \\backslash, \\N, "quotes" and ''apostrophes'' — 東京 🚚'),
    ('b0000000-0000-4000-8000-000000000008', 'backup-fixture-8@readyset.test',
        NULL, 'CLIENT', 'ACTIVE', 'Fixture Partner Owner', NULL, 'Fixture Partner', NULL, NULL, false,
        '2024-01-01 12:00:00+00', '2024-01-01 12:00:00+00', NULL, NULL, NULL),
    ('b0000000-0000-4000-8000-000000000009', 'backup-fixture-9@readyset.test',
        'h9', 'DRIVER', 'PENDING', 'Driver Nine', NULL, NULL, NULL, NULL, false,
        '2024-01-02 12:00:00+00', '2024-01-02 12:00:00+00', NULL, NULL, NULL),
    ('b0000000-0000-4000-8000-000000000010', 'backup-fixture-10@readyset.test',
        'h10', 'DRIVER', 'DELETED', 'Driver Ten', NULL, NULL, NULL, NULL, false,
        '2024-01-03 12:00:00+00', '2024-01-04 12:00:00+00', '2024-01-04 12:00:00+00', NULL, NULL);

INSERT INTO user_audits (user_id, action, performed_by, changes, reason, created_at) VALUES
    ('b0000000-0000-4000-8000-000000000007', 'user.deleted', 'b0000000-0000-4000-8000-000000000001',
        '{"status": {"from": "ACTIVE", "to": "DELETED"}, "name": "Zoë’s Café — 東京 🚚",
          "nested": {"a": [1, 2.5, -3e-7, true, false, null, {"שלום": "مرحبا"}], "empty": {}, "list": []},
          "escapes": "tab\there\nline \\ \"quoted\" \\N \u00e9",
          "big": 123456789012345678901234567890.123456789012345678901234567890}',
        E'multi\nline\treason \\N', '2024-02-29 12:34:56.789012+09:00'),
    ('b0000000-0000-4000-8000-000000000002', 'user.created', NULL, '{}', NULL,
        '0044-03-15 12:00:00.5+00 BC'),
    ('b0000000-0000-4000-8000-000000000003', 'user.role_changed', 'b0000000-0000-4000-8000-000000000001',
        '[{"op": "replace", "path": "/role", "value": "VENDOR"}]', '', now());

-- Addresses: full, minimal (NULL location), edge-of-globe and soft-deleted.
INSERT INTO addresses (id, name, street1, street2, city, state, zip, county, location_number,
                       parking_loading, is_restaurant, is_shared, location, geocode_source, created_by,
                       created_at, updated_at, deleted_at) VALUES
    ('b0000000-0000-4000-8000-000000000101', 'Zoë’s Café — 東京 🚚', '1 Rue de l’Église', E'Suite 5\tB',
        '東京', 'CA', '94103', 'San Francisco', 'LOC-Ω-1', E'Back alley\nring twice \\N',
        true, true, ST_GeogFromText('SRID=4326;POINT(-122.419415612345678 37.774929501234567)'),
        'nominatim', 'b0000000-0000-4000-8000-000000000003',
        '2024-02-29 23:59:59.999999+14:00', '2024-03-01 00:00:00.000001+00', NULL),
    ('b0000000-0000-4000-8000-000000000102', NULL, '2 Minimal St', NULL, 'San Jose', 'CA', NULL, NULL,
        NULL, NULL, false, false, NULL, NULL, NULL, now(), now(), NULL),
    ('b0000000-0000-4000-8000-000000000103', 'שלום — مرحبا', '3 Edge Rd', '', 'Antimeridian', 'AK', '99950',
        '', '', '', false, false, ST_GeogFromText('SRID=4326;POINT(179.999999999999 -89.999999999999)'),
        'zip_centroid', 'b0000000-0000-4000-8000-000000000002',
        '1999-12-31 23:59:59.5-08:00', '1999-12-31 23:59:59.5-08:00', NULL),
    ('b0000000-0000-4000-8000-000000000104', 'Deleted place', '4 Gone Ave', NULL, 'Oakland', 'CA', '94607',
        NULL, NULL, NULL, true, false, ST_GeogFromText('SRID=4326;POINT(-180 90)'),
        'manual', 'b0000000-0000-4000-8000-000000000001',
        '2022-01-01 00:00:00+00', '2022-02-02 00:00:00+00', '2022-02-02 00:00:00.000001+00');

INSERT INTO user_addresses (user_id, address_id, alias, is_default, created_at) VALUES
    ('b0000000-0000-4000-8000-000000000002', 'b0000000-0000-4000-8000-000000000102', NULL, true, now()),
    ('b0000000-0000-4000-8000-000000000003', 'b0000000-0000-4000-8000-000000000101', 'Kitchen 🍳 — 厨房', false,
        '2023-06-15 08:30:00.123456+05:30'),
    ('b0000000-0000-4000-8000-000000000003', 'b0000000-0000-4000-8000-000000000103', E'alias\\N', true, now());

-- Partner owner first, then partners (one with every optional column, one with none).
INSERT INTO api_partners (id, slug, name, api_key_hash, order_prefix, pricing_config_slug, webhook_url,
                          webhook_secret_ref, is_active, created_at, updated_at, user_id, status_call_url,
                          status_call_key_ref) VALUES
    ('b0000000-0000-4000-8000-000000000501', 'backup-fixture-full', 'Fixture Partner — 東京 🚚',
        repeat('ab', 32), 'BF-', 'backup-fixture', 'https://hooks.example.test/ready-set?x=1&y=é',
        'arn:aws:secretsmanager:us-west-2:000000000000:secret:fixture', true,
        '2024-01-01 12:00:00.123456+00', '2024-01-02 12:00:00.654321+00',
        'b0000000-0000-4000-8000-000000000008', 'https://status.example.test/update', 'fixture-status-key'),
    ('b0000000-0000-4000-8000-000000000502', 'backup-fixture-min', 'Minimal Partner',
        repeat('cd', 32), 'BM-', 'backup-fixture', NULL, NULL, false, now(), now(), NULL, NULL, NULL);

-- Pricing: an inactive v1 and the active v2 of a slug of our own.
INSERT INTO pricing_configurations (id, slug, version, name, is_active, distance_threshold_miles,
                                    mileage_rate_cents, minimum_fee_cents, bridge_toll_cents,
                                    charge_bridge_toll, beyond_threshold_uses_within_fee,
                                    daily_drive_discount_cents, notes, created_by, created_at) VALUES
    ('b0000000-0000-4000-8000-000000000601', 'backup-fixture', 1, 'Fixture v1', false, 9999.99,
        9223372036854775807, 0, 0, false, true, 0, NULL, NULL, '2023-01-01 00:00:00+00'),
    ('b0000000-0000-4000-8000-000000000602', 'backup-fixture', 2, 'Fixture v2 — 東京 🚚', true, 0.01,
        301, 4250, 850, true, false, 125, E'Notes with\ttab\nand \\N',
        'b0000000-0000-4000-8000-000000000001', '2024-02-29 23:59:59.999999+14:00');

INSERT INTO pricing_tiers (id, configuration_id, tier_number, min_head_count, max_head_count,
                           min_food_cost_cents, max_food_cost_cents, within_fee_cents, beyond_fee_cents,
                           food_cost_basis_points) VALUES
    ('b0000000-0000-4000-8000-000000000611', 'b0000000-0000-4000-8000-000000000601', 1, 0, 2147483647,
        0, 9223372036854775807, 0, 9223372036854775807, 0),
    ('b0000000-0000-4000-8000-000000000612', 'b0000000-0000-4000-8000-000000000602', 1, 0, 25,
        0, 30000, 4250, NULL, NULL),
    ('b0000000-0000-4000-8000-000000000613', 'b0000000-0000-4000-8000-000000000602', 2, 26, NULL,
        30001, NULL, NULL, 9000, 10000);

-- Orders: every order_type, status, driver_status (and NULL), need_host (and NULL) and
-- vehicle_type (and NULL). Order 01 carries the ~1 MB text; order 08 is soft-deleted and
-- reuses order 01's number (the unique index is on live orders only).
INSERT INTO orders (id, order_number, order_type, user_id, partner_id, partner_order_code,
                    pickup_address_id, delivery_address_id, status, driver_status, pickup_date_time,
                    arrival_date_time, complete_date_time, brokerage, client_attention, pickup_notes,
                    special_notes, headcount, need_host, hours_needed, number_of_hosts, item_delivered,
                    vehicle_type, length_in, width_in, height_in, weight_lb, order_total_cents, tip_cents,
                    delivery_fee_cents, delivery_distance_miles, pricing_configuration_id,
                    needs_manual_review, cancellation_reason, metadata, created_at, updated_at, deleted_at,
                    idempotency_key) VALUES
    ('b0000000-0000-4000-8000-000000000301', 'BF-0001', 'CATERING', 'b0000000-0000-4000-8000-000000000008',
        'b0000000-0000-4000-8000-000000000501', 'ZOË-東京-🚚-0001',
        'b0000000-0000-4000-8000-000000000101', 'b0000000-0000-4000-8000-000000000103',
        'ACTIVE', NULL, '2024-02-29 11:15:00.000001+00', '2024-02-29 12:00:00.999999+00', NULL,
        'Zoë’s Café — 東京 🚚', 'שלום עולם — مرحبا', E'tab\there\nnewline\\backslash \\N',
        repeat('Zoë’s Café — 東京 🚚 | ', 31775),
        2147483647, 'YES', 999.99, 2147483647, NULL, NULL, NULL, NULL, NULL, NULL,
        9223372036854775807, 9223372036854775807, 9223372036854775807, 999999.99,
        'b0000000-0000-4000-8000-000000000602', true, NULL,
        '{"source": "partner", "partner": {"name": "Zoë’s Café — 東京 🚚", "ids": [1, 2, 3],
          "rtl": "שלום مرحبا", "deep": {"deeper": {"deepest": [null, true, false, 0.000001, -1e+30]}}},
          "text": "tab\t newline\n backslash \\ \\N quote \""}',
        '2024-02-29 10:00:00.123456+00', '2024-02-29 10:00:00.123456+00', NULL, 'idem-Zoë-東京-🚚'),
    ('b0000000-0000-4000-8000-000000000302', 'BF-0002', 'ON_DEMAND', 'b0000000-0000-4000-8000-000000000002',
        NULL, NULL, 'b0000000-0000-4000-8000-000000000101', 'b0000000-0000-4000-8000-000000000102',
        'ASSIGNED', 'ASSIGNED', now() + interval '1 hour', now() + interval '2 hours', NULL,
        NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'A piano 🎹', 'CAR',
        -999999.99, 0.01, 123456.78, 0, 0, 0, NULL, NULL, NULL, false, NULL, '{}', now(), now(), NULL, NULL),
    ('b0000000-0000-4000-8000-000000000303', 'BF-0003', 'ON_DEMAND', 'b0000000-0000-4000-8000-000000000002',
        NULL, NULL, 'b0000000-0000-4000-8000-000000000102', 'b0000000-0000-4000-8000-000000000101',
        'CANCELLED', 'EN_ROUTE_TO_VENDOR', '2023-03-01 09:00:00-08:00', '2023-03-01 09:00:00-08:00', NULL,
        NULL, NULL, NULL, NULL, NULL, 'NO', 0, 0, E'Boxes\t×3', 'VAN', 10, 20, 30, 40.5,
        1, 1, 0, 0.01, NULL, false, E'Customer cancelled —\nno reason \\N', '[]',
        '2023-02-01 00:00:00+00', '2023-02-02 00:00:00+00', NULL, 'idem-3'),
    ('b0000000-0000-4000-8000-000000000304', 'BF-0004', 'ON_DEMAND', 'b0000000-0000-4000-8000-000000000003',
        'b0000000-0000-4000-8000-000000000502', '', 'b0000000-0000-4000-8000-000000000103',
        'b0000000-0000-4000-8000-000000000101', 'COMPLETED', 'ARRIVED_AT_VENDOR',
        '2023-07-04 12:00:00.5+00', '2023-07-04 13:00:00.25+00', '2023-07-04 13:05:00.125+00',
        '', '', '', '', NULL, NULL, NULL, NULL, '', 'TRUCK', NULL, NULL, NULL, 999999.99,
        500000, 2500, 9999, 12.34, 'b0000000-0000-4000-8000-000000000601', false, '', '{"a": null}',
        '2023-07-01 00:00:00+00', '2023-07-05 00:00:00+00', NULL, ''),
    ('b0000000-0000-4000-8000-000000000305', 'BF-0005', 'CATERING', 'b0000000-0000-4000-8000-000000000008',
        'b0000000-0000-4000-8000-000000000501', 'CV-5', 'b0000000-0000-4000-8000-000000000101',
        'b0000000-0000-4000-8000-000000000102', 'PENDING', 'PICKED_UP',
        now() + interval '1 day', now() + interval '1 day 1 hour', NULL, 'CaterValley', NULL, NULL, NULL,
        1, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 35000, 0, 5250, 0.40,
        'b0000000-0000-4000-8000-000000000602', false, NULL, '"just a json string ✓"', now(), now(), NULL, NULL),
    ('b0000000-0000-4000-8000-000000000306', 'BF-0006', 'CATERING', 'b0000000-0000-4000-8000-000000000002',
        NULL, NULL, 'b0000000-0000-4000-8000-000000000101', 'b0000000-0000-4000-8000-000000000102',
        'CONFIRMED', 'EN_ROUTE_TO_CLIENT', now() + interval '3 hours', now() + interval '4 hours', NULL,
        NULL, NULL, NULL, NULL, 50, 'NO', 0.01, 1, NULL, NULL, NULL, NULL, NULL, NULL,
        100, 0, NULL, NULL, NULL, false, NULL, 'null', now(), now(), NULL, NULL),
    ('b0000000-0000-4000-8000-000000000307', 'BF-0007', 'CATERING', 'b0000000-0000-4000-8000-000000000002',
        NULL, NULL, 'b0000000-0000-4000-8000-000000000101', 'b0000000-0000-4000-8000-000000000102',
        'IN_PROGRESS', 'ARRIVED_TO_CLIENT', now() - interval '2 hours', now() - interval '1 hour', NULL,
        NULL, NULL, NULL, NULL, 75, 'YES', 4.5, 2, NULL, 'CAR', NULL, NULL, NULL, NULL,
        120000, 1500, 7250, 8.88, NULL, true, NULL, '{"k": 12345678901234567890}', now(), now(), NULL, NULL),
    ('b0000000-0000-4000-8000-000000000308', 'BF-0001', 'CATERING', 'b0000000-0000-4000-8000-000000000002',
        NULL, NULL, 'b0000000-0000-4000-8000-000000000102', 'b0000000-0000-4000-8000-000000000101',
        'DELIVERED', 'COMPLETED', '2022-12-31 23:00:00+00', '2023-01-01 00:30:00+00',
        '2023-01-01 00:29:59.999999+00', NULL, NULL, NULL, NULL, 12, 'NO', NULL, NULL, NULL, NULL,
        NULL, NULL, NULL, NULL, 2000, 0, 4250, 1.5, NULL, false, NULL, '{}',
        '2022-12-01 00:00:00+00', '2023-01-02 00:00:00+00', '2023-01-02 00:00:00.000001+00', NULL);

-- Status history: every actor_type; identity ids from the sequence.
INSERT INTO order_status_history (order_id, from_status, to_status, from_driver_status, to_driver_status,
                                  actor_id, actor_type, location, note, created_at) VALUES
    ('b0000000-0000-4000-8000-000000000301', NULL, 'ACTIVE', NULL, NULL, NULL, 'SYSTEM', NULL, NULL,
        '2024-02-29 10:00:00.123456+00'),
    ('b0000000-0000-4000-8000-000000000302', 'ACTIVE', 'ASSIGNED', NULL, 'ASSIGNED',
        'b0000000-0000-4000-8000-000000000001', 'USER',
        ST_GeogFromText('SRID=4326;POINT(-122.419415612345678 37.774929501234567)'),
        E'Assigned — 東京 🚚\t\\N', now()),
    ('b0000000-0000-4000-8000-000000000305', 'ACTIVE', 'PENDING', 'ASSIGNED', 'PICKED_UP',
        'b0000000-0000-4000-8000-000000000501', 'PARTNER',
        ST_GeogFromText('SRID=4326;POINT(0.000000000001 -0.000000000001)'), '', now());

-- Drivers: every vehicle_type and NULL; one soft-deleted.
INSERT INTO drivers (id, user_id, employee_id, vehicle_number, vehicle_type, phone, license_number, is_active,
                     is_on_duty, last_known_location, last_location_update, created_at, updated_at,
                     deleted_at, max_active_deliveries) VALUES
    ('b0000000-0000-4000-8000-000000000201', 'b0000000-0000-4000-8000-000000000004', 'BF-D-0001',
        '7ZOË123', 'CAR', '4155550144', 'D1234567',
        true, true, ST_GeogFromText('SRID=4326;POINT(-121.888112345678901 37.333712345678901)'),
        now() - interval '5 minutes', now() - interval '30 days', now(), NULL, 3),
    ('b0000000-0000-4000-8000-000000000202', 'b0000000-0000-4000-8000-000000000005', NULL,
        NULL, 'VAN', NULL, NULL, true, false, NULL, NULL, now() - interval '20 days', now(), NULL, 32767),
    ('b0000000-0000-4000-8000-000000000203', 'b0000000-0000-4000-8000-000000000009', 'BF-D-東京-🚚',
        E'van\t#2', 'TRUCK', '', E'\\N', false, false,
        ST_GeogFromText('SRID=4326;POINT(-180 -90)'), '2024-01-02 12:00:00.5+00',
        '2024-01-02 12:00:00+00', '2024-01-02 12:00:00+00', NULL, 1),
    ('b0000000-0000-4000-8000-000000000204', 'b0000000-0000-4000-8000-000000000010', 'BF-D-0004',
        NULL, NULL, NULL, NULL, false, false, NULL, NULL,
        '2024-01-03 12:00:00+00', '2024-01-04 12:00:00+00', '2024-01-04 12:00:00+00', 3);

-- Dispatches: a current one, an unassigned one beside it, one with no assigner.
INSERT INTO dispatches (id, order_id, driver_id, assigned_by, assigned_at, unassigned_at) VALUES
    ('b0000000-0000-4000-8000-000000000701', 'b0000000-0000-4000-8000-000000000302',
        'b0000000-0000-4000-8000-000000000202', 'b0000000-0000-4000-8000-000000000001',
        now() - interval '2 hours', now() - interval '1 hour 30 minutes'),
    ('b0000000-0000-4000-8000-000000000702', 'b0000000-0000-4000-8000-000000000302',
        'b0000000-0000-4000-8000-000000000201', 'b0000000-0000-4000-8000-000000000001',
        now() - interval '1 hour', NULL),
    ('b0000000-0000-4000-8000-000000000703', 'b0000000-0000-4000-8000-000000000307',
        'b0000000-0000-4000-8000-000000000201', NULL, now() - interval '3 hours', NULL);

-- Planned availability: every vehicle type, one window ending where it started and one
-- ending elsewhere, back to back for one driver (the exclusion constraint allows that).
INSERT INTO driver_availability (id, driver_id, starts_at, ends_at, start_address_id, end_address_id,
                                 vehicle_type, created_by, updated_by, created_at, updated_at) VALUES
    ('b0000000-0000-4000-8000-000000000b01', 'b0000000-0000-4000-8000-000000000201',
        '2030-06-03 14:00:00.123456+00', '2030-06-03 22:00:00+00',
        'b0000000-0000-4000-8000-000000000101', 'b0000000-0000-4000-8000-000000000101', 'CAR',
        'b0000000-0000-4000-8000-000000000004', 'b0000000-0000-4000-8000-000000000004',
        now() - interval '2 days', now()),
    ('b0000000-0000-4000-8000-000000000b02', 'b0000000-0000-4000-8000-000000000201',
        '2030-06-03 22:00:00+00', '2030-06-04 06:00:00-08:00',
        'b0000000-0000-4000-8000-000000000101', 'b0000000-0000-4000-8000-000000000103', 'VAN',
        'b0000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-000000000001',
        now() - interval '1 day', now()),
    ('b0000000-0000-4000-8000-000000000b03', 'b0000000-0000-4000-8000-000000000202',
        '2030-06-03 15:00:00+00', '2030-06-04 07:00:00+00',
        'b0000000-0000-4000-8000-000000000102', 'b0000000-0000-4000-8000-000000000102', 'TRUCK',
        'b0000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-000000000005',
        now(), now());

-- Dispatch plans: every status; a solved one with its result, a failed one with its
-- error, a queued one covering a week (no two queued or solving plans share a day).
INSERT INTO dispatch_plans (id, service_from, service_to, mode, status, order_ids, driver_ids,
                            time_limit_seconds, requested_by, progress, inputs, result, error,
                            created_at, started_at, finished_at) VALUES
    ('b0000000-0000-4000-8000-000000000c01', '2030-06-03', '2030-06-03', 'PLAN', 'SOLVED',
        ARRAY['b0000000-0000-4000-8000-000000000301']::uuid[], NULL, 30,
        'b0000000-0000-4000-8000-000000000001',
        '{"generation": 1234, "bestCost": 5400.5, "routes": 1, "unassigned": 0, "elapsedSeconds": 30.01}',
        '{"b0000000-0000-4000-8000-000000000301": "2030-06-01T10:00:00.123456Z"}',
        '{"routes": [{"driverId": "b0000000-0000-4000-8000-000000000201", "note": "Zoë 東京 🚚",
           "stops": []}], "unassigned": [], "totals": {"orders": 1}, "travel": "offline"}',
        NULL, now() - interval '1 day', now() - interval '1 day', now() - interval '23 hours'),
    ('b0000000-0000-4000-8000-000000000c02', '2030-06-03', '2030-06-04', 'INSERT', 'FAILED',
        NULL, ARRAY['b0000000-0000-4000-8000-000000000201', 'b0000000-0000-4000-8000-000000000202']::uuid[],
        840, 'b0000000-0000-4000-8000-000000000001', NULL, NULL, NULL,
        E'the plan could not be solved:\n東京 \\N', now(), now(), now()),
    ('b0000000-0000-4000-8000-000000000c03', '2030-06-10', '2030-06-16', 'PLAN', 'QUEUED',
        NULL, NULL, 1, 'b0000000-0000-4000-8000-000000000001', NULL, NULL, NULL, NULL,
        now(), NULL, NULL);
-- An applied plan: who applied it and when.
INSERT INTO dispatch_plans (id, service_from, service_to, status, time_limit_seconds, requested_by,
                            result, created_at, started_at, finished_at, applied_at, applied_by) VALUES
    ('b0000000-0000-4000-8000-000000000c04', '2030-05-01', '2030-05-01', 'APPLIED', 30,
        'b0000000-0000-4000-8000-000000000001', '{"routes": [], "unassigned": []}',
        now() - interval '2 days', now() - interval '2 days', now() - interval '2 days',
        now() - interval '1 day 23 hours 59 minutes 59.5 seconds', 'b0000000-0000-4000-8000-000000000001');

-- Shifts: every status (at most one open shift per driver).
INSERT INTO driver_shifts (id, driver_id, start_time, end_time, start_location, end_location,
                           total_distance_miles, delivery_count, status, metadata, created_at, updated_at,
                           reported_miles) VALUES
    ('b0000000-0000-4000-8000-000000000801', 'b0000000-0000-4000-8000-000000000201',
        now() - interval '4 hours', NULL,
        ST_GeogFromText('SRID=4326;POINT(-121.888112345678901 37.333712345678901)'), NULL,
        12.34, 2, 'active', '{"device": {"os": "iOS 17.4", "app": "🚚 2.3.1"}, "notes": "Zoë"}',
        now() - interval '4 hours', now(), NULL),
    ('b0000000-0000-4000-8000-000000000802', 'b0000000-0000-4000-8000-000000000202',
        now() - interval '2 hours', NULL, NULL, NULL, 0, 0, 'paused', '{}',
        now() - interval '2 hours', now(), NULL),
    ('b0000000-0000-4000-8000-000000000803', 'b0000000-0000-4000-8000-000000000201',
        '2024-02-29 08:00:00.000001+00', '2024-02-29 17:59:59.999999+00',
        ST_GeogFromText('SRID=4326;POINT(-122.419415612345678 37.774929501234567)'),
        ST_GeogFromText('SRID=4326;POINT(179.999999999999 89.999999999999)'),
        999999.99, 2147483647, 'completed', '{"rtl": "שלום مرحبا", "n": [1.5, -0, 1e-10]}',
        '2024-02-29 08:00:00.000001+00', '2024-02-29 18:00:00+00', 999999.99),
    ('b0000000-0000-4000-8000-000000000804', 'b0000000-0000-4000-8000-000000000203',
        '2024-01-02 08:00:00+00', '2024-01-02 08:00:00+00', NULL, NULL, 0, 0, 'completed', '[]',
        '2024-01-02 08:00:00+00', '2024-01-02 08:00:00+00', 0);

-- Locations: recent points (partitions the migration made around now()) and one in a
-- partition of an old day made here, outside the migration's window.
SELECT driver_locations_ensure_partitions(date '2024-02-29', date '2024-02-29');
INSERT INTO driver_locations (driver_id, shift_id, location, accuracy_m, speed_mps, heading_deg, altitude_m,
                              battery_level, is_moving, activity_type, recorded_at, created_at) VALUES
    ('b0000000-0000-4000-8000-000000000201', 'b0000000-0000-4000-8000-000000000801',
        ST_GeogFromText('SRID=4326;POINT(-121.888112345678901 37.333712345678901)'),
        4.99999, 13.4112, 359.9999, -86.123456, 100, true, 'in_vehicle', now() - interval '1 hour', now()),
    ('b0000000-0000-4000-8000-000000000201', 'b0000000-0000-4000-8000-000000000801',
        ST_GeogFromText('SRID=4326;POINT(-121.888 37.3337)'),
        'Infinity', 0, 0, 'NaN', 0, false, E'walking — 東京 🚶\t\\N', now() - interval '30 minutes', now()),
    ('b0000000-0000-4000-8000-000000000202', NULL,
        ST_GeogFromText('SRID=4326;POINT(-179.999999999999 0.000000000001)'),
        NULL, NULL, NULL, NULL, NULL, NULL, NULL, now() - interval '10 minutes', now()),
    ('b0000000-0000-4000-8000-000000000201', 'b0000000-0000-4000-8000-000000000803',
        ST_GeogFromText('SRID=4326;POINT(-122.419415612345678 37.774929501234567)'),
        1.17549435e-38, 3.4028235e+38, 180, 8848.86, 1, true, '', '2024-02-29 12:34:56.789012+00',
        '2024-02-29 12:34:57.000001+00');

-- Files: both statuses, both entity types and NULL; one soft-deleted by staff.
INSERT INTO file_uploads (id, user_id, order_id, file_name, file_type, file_size, s3_key, category,
                          is_temporary, uploaded_at, deleted_at, status, entity_type, entity_id,
                          completed_at, deleted_by) VALUES
    ('b0000000-0000-4000-8000-000000000901', 'b0000000-0000-4000-8000-000000000004',
        'b0000000-0000-4000-8000-000000000304', 'Zoë’s Café — 東京 🚚.jpg', 'image/jpeg', 9223372036854775807,
        'backup-fixture/orders/b0000000-0000-4000-8000-000000000304/zoë-東京-🚚.jpg', 'proof_of_delivery',
        false, '2023-07-04 13:04:00.000001+00', NULL, 'ACTIVE', 'order',
        'b0000000-0000-4000-8000-000000000304', '2023-07-04 13:04:01.5+00', NULL),
    ('b0000000-0000-4000-8000-000000000902', 'b0000000-0000-4000-8000-000000000004',
        'b0000000-0000-4000-8000-000000000304', E'signature\t\\N.png', 'image/png', 0,
        'backup-fixture/orders/b0000000-0000-4000-8000-000000000304/signature.png', 'signature',
        false, '2023-07-04 13:04:30+00', NULL, 'ACTIVE', 'order',
        'b0000000-0000-4000-8000-000000000304', '2023-07-04 13:04:31+00', NULL),
    ('b0000000-0000-4000-8000-000000000903', 'b0000000-0000-4000-8000-000000000002', NULL,
        'avatar.png', 'image/png', 1234, 'backup-fixture/users/b0000000-0000-4000-8000-000000000002/avatar.png',
        NULL, true, now(), NULL, 'PENDING', 'user', 'b0000000-0000-4000-8000-000000000002', NULL, NULL),
    ('b0000000-0000-4000-8000-000000000904', 'b0000000-0000-4000-8000-000000000003', NULL,
        'old.pdf', 'application/pdf', 1, 'backup-fixture/legacy/old.pdf', '', false,
        '2020-01-01 00:00:00+00', '2020-02-01 00:00:00.5+00', 'ACTIVE', NULL, NULL, NULL,
        'b0000000-0000-4000-8000-000000000001');

-- Deliveries: every status; one completed with pay, proofs and every optional column.
INSERT INTO deliveries (id, order_id, driver_id, shift_id, status, pickup_location, delivery_location,
                        estimated_arrival, actual_arrival, proof_of_delivery, delivery_notes, created_at,
                        updated_at, pod_upload_id, pod_recorded_at, signature_upload_id,
                        signature_recorded_at, dispatch_id, pay_base_cents, pay_mileage_cents,
                        pay_bonus_cents, pay_toll_cents, pay_tip_cents, pay_total_cents,
                        pay_distance_miles, completed_at) VALUES
    ('b0000000-0000-4000-8000-000000001001', 'b0000000-0000-4000-8000-000000000302',
        'b0000000-0000-4000-8000-000000000201', 'b0000000-0000-4000-8000-000000000801', 'ASSIGNED',
        ST_GeogFromText('SRID=4326;POINT(-122.419415612345678 37.774929501234567)'),
        ST_GeogFromText('SRID=4326;POINT(-121.8947 37.3353)'), now() + interval '2 hours', NULL, NULL, NULL,
        now(), now(), NULL, NULL, NULL, NULL, 'b0000000-0000-4000-8000-000000000702',
        NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
    ('b0000000-0000-4000-8000-000000001002', 'b0000000-0000-4000-8000-000000000303',
        'b0000000-0000-4000-8000-000000000202', NULL, 'EN_ROUTE_TO_VENDOR', NULL, NULL,
        NULL, NULL, NULL, NULL, now(), now(), NULL, NULL, NULL, NULL, NULL,
        NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
    ('b0000000-0000-4000-8000-000000001003', 'b0000000-0000-4000-8000-000000000304',
        'b0000000-0000-4000-8000-000000000201', 'b0000000-0000-4000-8000-000000000803', 'COMPLETED',
        ST_GeogFromText('SRID=4326;POINT(179.999999999999 -89.999999999999)'),
        ST_GeogFromText('SRID=4326;POINT(-122.419415612345678 37.774929501234567)'),
        '2023-07-04 13:00:00.25+00', '2023-07-04 13:04:59.999999+00',
        'backup-fixture/orders/b0000000-0000-4000-8000-000000000304/zoë-東京-🚚.jpg',
        E'Left with reception —\tZoë 🚚\nline 2 \\N', '2023-07-04 12:00:00+00', '2023-07-04 13:05:00+00',
        'b0000000-0000-4000-8000-000000000901', '2023-07-04 13:04:01.5+00',
        'b0000000-0000-4000-8000-000000000902', '2023-07-04 13:04:31+00', NULL,
        2300, 3702, 0, 850, 2500, 9352, 12.34, '2023-07-04 13:05:00.125+00'),
    ('b0000000-0000-4000-8000-000000001004', 'b0000000-0000-4000-8000-000000000305',
        'b0000000-0000-4000-8000-000000000202', 'b0000000-0000-4000-8000-000000000802', 'PICKED_UP',
        NULL, NULL, NULL, NULL, '', '', now(), now(), NULL, NULL, NULL, NULL, NULL,
        NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
    ('b0000000-0000-4000-8000-000000001005', 'b0000000-0000-4000-8000-000000000306',
        'b0000000-0000-4000-8000-000000000201', NULL, 'EN_ROUTE_TO_CLIENT', NULL, NULL,
        NULL, NULL, NULL, NULL, now(), now(), NULL, NULL, NULL, NULL, NULL,
        NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
    ('b0000000-0000-4000-8000-000000001006', 'b0000000-0000-4000-8000-000000000307',
        'b0000000-0000-4000-8000-000000000201', 'b0000000-0000-4000-8000-000000000801', 'ARRIVED_TO_CLIENT',
        NULL, NULL, now(), now(), NULL, NULL, now(), now(), NULL, NULL, NULL, NULL,
        'b0000000-0000-4000-8000-000000000703', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
    ('b0000000-0000-4000-8000-000000001007', NULL,
        'b0000000-0000-4000-8000-000000000203', 'b0000000-0000-4000-8000-000000000804', 'ARRIVED_AT_VENDOR',
        NULL, NULL, NULL, NULL, NULL, NULL, '2024-01-02 08:00:00+00', '2024-01-02 08:00:00+00',
        NULL, NULL, NULL, NULL, NULL, 9223372036854775807, 0, 0, 0, 0, 9223372036854775807, 999999.99,
        '2024-01-02 08:00:00+00');

INSERT INTO pricing_quotes (id, configuration_id, order_id, user_id, partner_id, inputs, breakdown,
                            delivery_fee_cents, created_at) VALUES
    ('b0000000-0000-4000-8000-000000001101', 'b0000000-0000-4000-8000-000000000602',
        'b0000000-0000-4000-8000-000000000301', 'b0000000-0000-4000-8000-000000000008',
        'b0000000-0000-4000-8000-000000000501',
        '{"headcount": 2147483647, "food_cost_cents": 9223372036854775807, "distance_miles": 999999.99,
          "address": {"street": "1 Rue de l’Église", "city": "東京", "note": "🚚 \"fast\"\n\\N"}}',
        '{"tier": 2, "lines": [{"label": "Zoë’s fee", "cents": 9000}, {"label": "שלום", "cents": 0}],
          "total": 123456789012345678901234567890}',
        9223372036854775807, '2024-02-29 10:00:00.654321+00'),
    ('b0000000-0000-4000-8000-000000001102', 'b0000000-0000-4000-8000-000000000601', NULL, NULL, NULL,
        '{}', '[]', 0, now());

-- Outbox: every kind and status; CUSTOMER_EMAIL and DRIVER_PUSH carry no partner (CHECK).
INSERT INTO outbox (event_id, kind, order_id, partner_id, history_id, payload, status, attempts,
                    next_attempt_at, retry_until, last_error, created_at, delivered_at, dead_at) VALUES
    ('b0000000-0000-4000-8000-000000001201', 'PARTNER_WEBHOOK', 'b0000000-0000-4000-8000-000000000305',
        'b0000000-0000-4000-8000-000000000501',
        (SELECT id FROM order_status_history WHERE order_id = 'b0000000-0000-4000-8000-000000000305'),
        '{"event": "order.status_changed", "order": {"number": "BF-0005", "status": "PENDING",
          "name": "Zoë’s Café — 東京 🚚"}, "at": "2024-02-29T12:34:56.789012Z"}',
        'DELIVERED', 1, now(), NULL, NULL, now() - interval '1 minute', now(), NULL),
    ('b0000000-0000-4000-8000-000000001202', 'CATERVALLEY_STATUS', 'b0000000-0000-4000-8000-000000000301',
        'b0000000-0000-4000-8000-000000000501', NULL,
        '{"orderNumber": "BF-0001", "status": "CONFIRM"}', 'DEAD', 12,
        '2024-03-01 00:00:00+00', '2024-03-02 00:00:00.5+00',
        E'HTTP 500: upstream said "no"\n\tat line 1 \\N — 東京', '2024-02-29 10:00:00+00', NULL,
        '2024-03-02 00:00:00.5+00'),
    ('b0000000-0000-4000-8000-000000001203', 'CUSTOMER_EMAIL', 'b0000000-0000-4000-8000-000000000302',
        NULL, (SELECT id FROM order_status_history WHERE order_id = 'b0000000-0000-4000-8000-000000000302'),
        '{"template": "driver_assigned", "to": "backup-fixture-2@readyset.test", "vars": {"driver": "Ünïcödé 🚗"}}',
        'PENDING', 0, now() + interval '365 days', NULL, NULL, now(), NULL, NULL),
    ('b0000000-0000-4000-8000-000000001204', 'DRIVER_PUSH', 'b0000000-0000-4000-8000-000000000302',
        NULL, (SELECT id FROM order_status_history WHERE order_id = 'b0000000-0000-4000-8000-000000000302'),
        '{"type": "driver.offer", "change": "ESCALATED", "escalation": {"reason": "NO_CANDIDATE", "attempts": 0}}',
        'SKIPPED', 1, now(), '2024-03-01 00:00:00+00', 'no driver push channel is configured', now(), NULL, NULL),
    ('b0000000-0000-4000-8000-000000001205', 'CUSTOMER_SMS', 'b0000000-0000-4000-8000-000000000302',
        NULL, NULL,
        '{"to": "+14155550123", "text": "Ready Set: Zoë’s order 🚚 is on its way", "trackOrderId": "b0000000-0000-4000-8000-000000000302"}',
        'DELIVERED', 1, now(), NULL, NULL, now(), now(), NULL);

-- SMS opt-outs: a reply with its keyword, and one SNS reported.
INSERT INTO sms_opt_outs (phone, source, keyword, inbound_message_id, opted_out_at) VALUES
    ('+14155550199', 'REPLY', 'STOP', 'cae173d2-66b9-564c-8309-21f858e9fb84', '2024-02-29 23:59:59.999999+00'),
    ('+447700900123', 'CARRIER', NULL, NULL, now());

INSERT INTO outbox_attempts (outbox_id, attempted_at, status_code, latency_ms, error, succeeded) VALUES
    ((SELECT id FROM outbox WHERE event_id = 'b0000000-0000-4000-8000-000000001201'),
        now() - interval '30 seconds', 200, 42, NULL, true),
    ((SELECT id FROM outbox WHERE event_id = 'b0000000-0000-4000-8000-000000001202'),
        '2024-03-01 00:00:00.000001+00', 500, 2147483647, E'HTTP 500 —\n"no" \\N', false),
    ((SELECT id FROM outbox WHERE event_id = 'b0000000-0000-4000-8000-000000001202'),
        '2024-03-01 00:05:00+00', NULL, 0, 'connection refused', false);

-- Seeded tables: keys outside the migrations' rows (pay tiers 1-5, real US ZIP codes).
INSERT INTO driver_pay_tiers (tier_number, min_head_count, max_head_count, base_cents) VALUES
    (2147483646, 2147483646, 2147483647, 9223372036854775807),
    (2147483647, 2147483647, NULL, 0);

INSERT INTO zip_centroids (zip, state, city, lat, lng) VALUES
    ('00000', 'ZZ', 'Zoë’s Café — 東京 🚚', 89.99999999999999, -179.99999999999997),
    ('00001', 'XX', E'שלום — مرحبا\t\\N', -90, 180),
    ('00002', '', '', 0.1, 5e-324);

-- password_set_tokens: a live link and a used one.
INSERT INTO password_set_tokens (user_id, token_hash, created_by, expires_at, used_at) VALUES
    ('b0000000-0000-4000-8000-000000000001', repeat('a', 64), NULL, now() + interval '72 hours', NULL),
    ('b0000000-0000-4000-8000-000000000002', repeat('b', 64), 'b0000000-0000-4000-8000-000000000001',
     now() - interval '1 hour', now() - interval '2 hours');

-- staff_audits: both kinds, a NULL performer and reason, unicode in the changes.
INSERT INTO staff_audits (entity_type, entity_id, action, performed_by, changes, reason) VALUES
    ('ORDER', 'b0000000-0000-4000-8000-000000000301', 'UPDATE', 'b0000000-0000-4000-8000-000000000001',
     '{"pickupNotes": {"from": "Zoë’s dock", "to": "東京 gate"}}', 'moved by phone'),
    ('PRICING_CONFIGURATION', 'b0000000-0000-4000-8000-000000000302', 'PUBLISH', NULL, '{}', NULL),
    ('JOB_APPLICATION', 'b0000000-0000-4000-8000-000000000a01', 'STATUS_CHANGE',
     'b0000000-0000-4000-8000-000000000001', '{"status": {"from": "PENDING", "to": "REJECTED"}}', NULL),
    ('DRIVER_AVAILABILITY', 'b0000000-0000-4000-8000-000000000b02', 'CREATE',
     'b0000000-0000-4000-8000-000000000001', '{"vehicleType": {"from": null, "to": "VAN"}}', NULL);

-- job_applications: one open with every optional field NULL, one decided with unicode and
-- tabs in the notes; an applicant's document has no uploader account.
INSERT INTO job_applications (id, first_name, last_name, email, phone, city, state, zip, vehicle_type,
                              years_experience, message, status, notes, reviewed_by, reviewed_at,
                              user_id, created_at, updated_at) VALUES
    ('b0000000-0000-4000-8000-000000000a01', 'Zoë', 'O’Brien — 東京', 'zoe.applicant@readyset.test',
     '+1 (415) 555-0142', 'San José', 'CA', '95113', 'TRUCK', 0, E'Line one\nline\ttwo \\N 🚚',
     'REJECTED', 'no licence yet', 'b0000000-0000-4000-8000-000000000001', '2024-02-29 12:00:00.5+00',
     NULL, '2024-02-28 08:00:00+00', '2024-02-29 12:00:00.5+00'),
    ('b0000000-0000-4000-8000-000000000a02', 'A', 'B', 'open.applicant@readyset.test', '5550100',
     NULL, NULL, NULL, NULL, NULL, NULL, 'PENDING', NULL, NULL, NULL, NULL,
     '2024-03-01 00:00:00+00', '2024-03-01 00:00:00+00');
INSERT INTO file_uploads (id, user_id, file_name, file_type, file_size, s3_key, category, status,
                          entity_type, entity_id, completed_at) VALUES
    ('b0000000-0000-4000-8000-000000000a11', NULL, 'licence.pdf', 'application/pdf', 2048,
     'backup-fixture/job_application/b0000000-0000-4000-8000-000000000a01/licence.pdf',
     'DRIVERS_LICENSE', 'ACTIVE', 'job_application', 'b0000000-0000-4000-8000-000000000a01',
     '2024-02-28 08:05:00+00');

-- Cached road travel: a pair, its reverse, and one fetched long ago (past its month).
INSERT INTO travel_times (origin, destination, meters, seconds, fetched_at) VALUES
    ('37.33370,-121.88810', '37.33530,-121.89470', 812.5, 97.25, now()),
    ('37.33530,-121.89470', '37.33370,-121.88810', 1e-9, 0, now() - interval '1 second'),
    ('-90.00000,-180.00000', '90.00000,180.00000', 20037508.342789244, 1.7976931348623157e308,
        '1999-12-31 23:59:59.999999+00');

-- One delivery on an applied plan's timetable (the other keeps its planned columns NULL).
UPDATE deliveries
   SET plan_id = 'b0000000-0000-4000-8000-000000000c04',
       planned_pickup_at = '2030-05-01 18:15:00.25+00', planned_dropoff_at = '2030-05-01 18:59:59.999999+00',
       planned_sequence = 32767
 WHERE id = (SELECT min(id::text)::uuid FROM deliveries WHERE id::text LIKE 'b0000000-%');


-- Auto-dispatch: a changed setting (the other type keeps its defaults), offers in every
-- status (one pending per order and per driver), and escalations open and resolved.
UPDATE auto_dispatch_settings
   SET enabled = true, acceptance_seconds = 600, horizon_minutes = 15, max_attempts = 50,
       max_carried_car = 10, max_carried_van = 1, max_carried_truck = 7,
       updated_by = 'b0000000-0000-4000-8000-000000000001'
 WHERE order_type = 'ON_DEMAND';
INSERT INTO dispatch_offers (id, order_id, driver_id, attempt, status, added_drive_seconds,
                             offered_at, expires_at, answered_at, decline_reason) VALUES
    ('b0000000-0000-4000-8000-000000000d01', 'b0000000-0000-4000-8000-000000000302',
        'b0000000-0000-4000-8000-000000000201', 1, 'DECLINED', 0,
        '2030-05-01 18:00:00.000001+00', '2030-05-01 18:00:45.000001+00', '2030-05-01 18:00:30+00',
        E'too far: 東京 🚚\nnext time'),
    ('b0000000-0000-4000-8000-000000000d02', 'b0000000-0000-4000-8000-000000000302',
        'b0000000-0000-4000-8000-000000000202', 2, 'EXPIRED', 2147483647,
        '2030-05-01 18:01:00+00', '2030-05-01 18:01:45+00', '2030-05-01 18:01:45.5+00', NULL),
    ('b0000000-0000-4000-8000-000000000d03', 'b0000000-0000-4000-8000-000000000303',
        'b0000000-0000-4000-8000-000000000201', 1, 'PENDING', 754,
        now(), now() + interval '45 seconds', NULL, NULL),
    ('b0000000-0000-4000-8000-000000000d04', 'b0000000-0000-4000-8000-000000000304',
        'b0000000-0000-4000-8000-000000000202', 1, 'WITHDRAWN', 1,
        now() - interval '1 hour', now() - interval '59 minutes', now() - interval '59 minutes 30 seconds', NULL);
-- The other delivery timed by an accepted offer instead of a plan.
UPDATE deliveries
   SET offer_id = 'b0000000-0000-4000-8000-000000000d01',
       planned_pickup_at = '2030-05-01 18:05:00+00', planned_dropoff_at = '2030-05-01 18:05:00+00',
       planned_sequence = 0
 WHERE id = (SELECT max(id::text)::uuid FROM deliveries WHERE id::text LIKE 'b0000000-%');
INSERT INTO dispatch_escalations (order_id, reason, attempts, escalated_at, alerted_at, resolved_at) VALUES
    ('b0000000-0000-4000-8000-000000000302', 'ATTEMPTS_EXHAUSTED', 2, '2030-05-01 18:01:46+00',
        '2030-05-01 18:02:00+00', NULL),
    ('b0000000-0000-4000-8000-000000000305', 'NO_CANDIDATE', 0, now() - interval '1 day', NULL,
        now() - interval '23 hours');

-- A delay still open (alerted) and one that recovered.
INSERT INTO delivery_delays (order_id, delivery_id, window_end, predicted_dropoff, delayed_at,
                             recovered_at, alerted_at) VALUES
    ('b0000000-0000-4000-8000-000000000302', 'b0000000-0000-4000-8000-000000001001',
        '2030-05-01 19:00:00+00', '2030-05-01 19:17:30.25+00', '2030-05-01 18:40:00+00', NULL,
        '2030-05-01 18:41:00+00'),
    ('b0000000-0000-4000-8000-000000000302', 'b0000000-0000-4000-8000-000000001001',
        '2030-05-01 19:00:00+00', '2030-05-01 18:55:00+00', '2030-05-01 18:20:00+00',
        '2030-05-01 18:30:00+00', NULL);

COMMIT;

-- Failed attempts: the closed dispatch of order 302, with a note and a location.
INSERT INTO failed_attempts (order_id, dispatch_id, driver_id, reason, note, photo_upload_id, location,
                             history_id, created_at) VALUES
    ('b0000000-0000-4000-8000-000000000302', 'b0000000-0000-4000-8000-000000000701',
        'b0000000-0000-4000-8000-000000000202', 'NO_ONE_THERE', E'Reception “closed” — 東京\n🚪',
        'b0000000-0000-4000-8000-000000000901', 'SRID=4326;POINT(-122.4194 37.7749)',
        (SELECT id FROM order_status_history WHERE order_id = 'b0000000-0000-4000-8000-000000000302' LIMIT 1),
        '2024-02-29 23:59:59.999999+00');

-- Completion requirements: an order type's and a client's rule.
INSERT INTO completion_requirements (order_type, client_id, photo, signature, pin, updated_by, updated_at) VALUES
    ('CATERING', NULL, true, false, true, 'b0000000-0000-4000-8000-000000000001', '2024-02-29 12:00:00+00'),
    (NULL, 'b0000000-0000-4000-8000-000000000002', false, true, false, NULL, now());

-- A delivery's hand-off code state: its nonce, two wrong tries, entered at last.
UPDATE deliveries SET handoff_pin_nonce = 'b0000000-0000-4000-8000-00000000f1f1', handoff_pin_failures = 2,
                      handoff_pin_verified_at = '2024-02-29 12:30:00.000001+00'
 WHERE id = (SELECT id FROM deliveries ORDER BY id LIMIT 1);

-- A delivery's stop times at the pickup.
UPDATE deliveries SET pickup_arrival = '2024-02-29 11:40:00.000001+00', picked_up_at = '2024-02-29 11:52:30+00'
 WHERE id = (SELECT id FROM deliveries ORDER BY id LIMIT 1);

-- A recurring series of client 002's with each kind of date, and an email no order carries.
INSERT INTO order_series (id, user_id, created_by, rule, starts_on, ends_on, pickup_time, arrival_time,
                          horizon_days, template, paused_at, created_at) VALUES
    ('b0000000-0000-4000-8000-00000000e001', 'b0000000-0000-4000-8000-000000000002',
        'b0000000-0000-4000-8000-000000000001', 'FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE', '2024-02-26', '2024-12-31',
        '11:15', '12:00', 21, '{"headcount": 25, "clientAttention": "Réception — 東京 🍱", "tip": 12.5}',
        '2024-03-01 08:00:00+00', '2024-02-20 10:00:00.000001+00');
INSERT INTO order_series_occurrences (series_id, occurs_on, status, order_id, error, recorded_at) VALUES
    ('b0000000-0000-4000-8000-00000000e001', '2024-02-26', 'CREATED', 'b0000000-0000-4000-8000-000000000302', NULL, '2024-02-20 10:00:00+00'),
    ('b0000000-0000-4000-8000-00000000e001', '2024-02-28', 'SKIPPED', NULL, NULL, '2024-02-21 10:00:00+00'),
    ('b0000000-0000-4000-8000-00000000e001', '2024-03-11', 'FAILED', NULL, E'not found: address\n“gone”', '2024-02-22 10:00:00+00');
INSERT INTO outbox (kind, order_id, partner_id, payload, status)
    VALUES ('CUSTOMER_EMAIL', NULL, NULL, '{"to": "client@example.com", "subject": "Your recurring order", "text": "x"}', 'PENDING');
