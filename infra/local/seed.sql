-- Demo data for local runs. Fixed ids so re-running changes nothing.
BEGIN;

INSERT INTO users (id, email, role, status, name, company_name, phone) VALUES
    ('00000000-0000-4000-8000-000000000001', 'admin@readyset.local', 'ADMIN', 'ACTIVE', 'Avery Admin', 'Ready Set', '4155550101'),
    ('00000000-0000-4000-8000-000000000002', 'client@readyset.local', 'CLIENT', 'ACTIVE', 'Casey Client', 'Acme Offices', '4155550102'),
    ('00000000-0000-4000-8000-000000000003', 'vendor@readyset.local', 'VENDOR', 'ACTIVE', 'Vic Vendor', 'Taqueria Vic', '4155550103'),
    ('00000000-0000-4000-8000-000000000004', 'driver@readyset.local', 'DRIVER', 'ACTIVE', 'Dana Driver', NULL, '4155550104'),
    ('00000000-0000-4000-8000-000000000005', 'helpdesk@readyset.local', 'HELPDESK', 'ACTIVE', 'Harper Helpdesk', 'Ready Set', '4155550105'),
    ('00000000-0000-4000-8000-000000000006', 'superadmin@readyset.local', 'SUPER_ADMIN', 'ACTIVE', 'Sam Super', 'Ready Set', '4155550106')
ON CONFLICT (id) DO NOTHING;

INSERT INTO addresses (id, name, street1, city, state, zip, is_restaurant, location, geocode_source, created_by) VALUES
    ('00000000-0000-4000-8000-000000000101', 'Taqueria Vic', '100 S 1st St', 'San Jose', 'CA', '95113', true,
        ST_GeogFromText('SRID=4326;POINT(-121.8881 37.3337)'), 'seed', '00000000-0000-4000-8000-000000000003'),
    ('00000000-0000-4000-8000-000000000102', 'Acme Offices', '2 N Market St', 'San Jose', 'CA', '95113', false,
        ST_GeogFromText('SRID=4326;POINT(-121.8947 37.3353)'), 'seed', '00000000-0000-4000-8000-000000000002')
ON CONFLICT (id) DO NOTHING;

INSERT INTO user_addresses (user_id, address_id, alias, is_default) VALUES
    ('00000000-0000-4000-8000-000000000003', '00000000-0000-4000-8000-000000000101', 'Kitchen', true),
    ('00000000-0000-4000-8000-000000000002', '00000000-0000-4000-8000-000000000102', 'Office', true)
ON CONFLICT DO NOTHING;

INSERT INTO drivers (id, user_id, employee_id, vehicle_type, phone, is_active, is_on_duty, last_known_location, last_location_update) VALUES
    ('00000000-0000-4000-8000-000000000201', '00000000-0000-4000-8000-000000000004', 'D-0001', 'CAR', '4155550104', true, false,
        ST_GeogFromText('SRID=4326;POINT(-121.8900 37.3300)'), now())
ON CONFLICT (id) DO NOTHING;

INSERT INTO orders (id, order_number, order_type, user_id, pickup_address_id, delivery_address_id, status,
                    pickup_date_time, arrival_date_time, headcount, need_host, order_total_cents)
VALUES
    ('00000000-0000-4000-8000-000000000301', 'SF-10001', 'CATERING', '00000000-0000-4000-8000-000000000002',
        '00000000-0000-4000-8000-000000000101', '00000000-0000-4000-8000-000000000102', 'ACTIVE',
        date_trunc('day', now()) + interval '1 day 11 hours 15 minutes',
        date_trunc('day', now()) + interval '1 day 12 hours', 25, 'NO', 35000)
ON CONFLICT DO NOTHING;

-- The demo driver's planned availability for the two days after the data was loaded
-- (08:00 to 18:00 Pacific, from and back to the vendor's street), so a dispatch plan of
-- those days has a driver.
INSERT INTO driver_availability (id, driver_id, starts_at, ends_at, start_address_id, end_address_id,
                                 vehicle_type, created_by, updated_by)
SELECT ('00000000-0000-4000-8000-00000000060' || d)::uuid, '00000000-0000-4000-8000-000000000201',
       (current_date + d + time '08:00') AT TIME ZONE 'America/Los_Angeles',
       (current_date + d + time '18:00') AT TIME ZONE 'America/Los_Angeles',
       '00000000-0000-4000-8000-000000000101', '00000000-0000-4000-8000-000000000101', 'CAR',
       '00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000001'
  FROM generate_series(1, 2) AS d
ON CONFLICT DO NOTHING;

-- Partner API clients. Keys are stored as SHA-256; the local keys are 'ready-set'
-- (CaterValley's existing local configuration) and 'catercow-local'.
INSERT INTO users (id, email, role, status, name, company_name) VALUES
    ('00000000-0000-4000-8000-000000000401', 'catervalley@partners.readyset.local', 'CLIENT', 'ACTIVE', 'CaterValley', 'CaterValley'),
    ('00000000-0000-4000-8000-000000000402', 'catercow@partners.readyset.local', 'CLIENT', 'ACTIVE', 'CaterCow', 'CaterCow')
ON CONFLICT (id) DO NOTHING;

INSERT INTO api_partners (id, slug, name, api_key_hash, order_prefix, pricing_config_slug, user_id) VALUES
    ('00000000-0000-4000-8000-000000000501', 'catervalley', 'CaterValley', '4f616064301876479ccbe3cd519a04c99e0c1c5aabd272f0970b02e29b91654c', 'CV-', 'catervalley', '00000000-0000-4000-8000-000000000401'),
    ('00000000-0000-4000-8000-000000000502', 'catercow', 'CaterCow', 'cddd12b592dc3041c28e62faa2b512093009f17ff6ab90c017b65790fa2a8476', 'CC-', 'catervalley', '00000000-0000-4000-8000-000000000402')
ON CONFLICT (id) DO NOTHING;

-- A CaterValley draft awaiting the partner's confirmation.
INSERT INTO orders (id, order_number, order_type, user_id, partner_id, partner_order_code, pickup_address_id,
                    delivery_address_id, status, pickup_date_time, arrival_date_time, headcount, need_host,
                    order_total_cents, delivery_fee_cents, delivery_distance_miles, pricing_configuration_id, brokerage)
VALUES
    ('00000000-0000-4000-8000-000000000302', 'CV-10451', 'CATERING', '00000000-0000-4000-8000-000000000401',
        '00000000-0000-4000-8000-000000000501', '10451', '00000000-0000-4000-8000-000000000101',
        '00000000-0000-4000-8000-000000000102', 'PENDING',
        date_trunc('day', now()) + interval '2 days 19 hours 15 minutes',
        date_trunc('day', now()) + interval '2 days 20 hours', 26, 'NO', 35000, 5250, 0.4,
        '5ca7e11e-0000-4000-8000-000000000001', 'CaterValley')
ON CONFLICT DO NOTHING;

COMMIT;
