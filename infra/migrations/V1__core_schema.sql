-- Core domain of the Ready Set platform.
--
-- Conventions:
-- * Enumerations are text columns with CHECK constraints, not PostgreSQL enum types: enum
--   types need a type lookup that prepares a statement, which pins connections behind
--   RDS Proxy. Values are spelled as existing clients send them.
-- * Money is integer cents (bigint). Distances are numeric miles.
-- * Locations are geography(Point, 4326) with GIST indexes.
-- * Users and orders are soft-deleted (deleted_at); every hot query has an index.

CREATE EXTENSION IF NOT EXISTS postgis;

CREATE FUNCTION set_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;

-- Profiles: every account, whatever its role.
CREATE TABLE users (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email           text NOT NULL CHECK (email = lower(email) AND length(email) BETWEEN 3 AND 254),
    password_hash   text,
    role            text NOT NULL CHECK (role IN ('VENDOR', 'CLIENT', 'DRIVER', 'ADMIN', 'HELPDESK', 'SUPER_ADMIN')),
    status          text NOT NULL DEFAULT 'PENDING' CHECK (status IN ('ACTIVE', 'PENDING', 'DELETED')),
    name            text,
    contact_name    text,
    company_name    text,
    phone           text,
    website         text,
    is_temporary_password boolean NOT NULL DEFAULT false,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    deleted_at      timestamptz,
    deleted_by      uuid REFERENCES users (id),
    deletion_reason text,
    CHECK ((status = 'DELETED') = (deleted_at IS NOT NULL))
);
CREATE UNIQUE INDEX users_email_key ON users (email);
CREATE INDEX users_role_status_idx ON users (role, status) WHERE deleted_at IS NULL;
CREATE INDEX users_status_created_idx ON users (status, created_at DESC);
CREATE INDEX users_created_idx ON users (created_at DESC, id DESC);
CREATE INDEX users_deleted_idx ON users (deleted_at DESC) WHERE deleted_at IS NOT NULL;
CREATE TRIGGER users_updated_at BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Admin changes to users: who changed what, when and why.
CREATE TABLE user_audits (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id      uuid NOT NULL REFERENCES users (id),
    action       text NOT NULL,
    performed_by uuid REFERENCES users (id),
    changes      jsonb NOT NULL DEFAULT '{}'::jsonb,
    reason       text,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX user_audits_user_idx ON user_audits (user_id, created_at DESC);
CREATE INDEX user_audits_performer_idx ON user_audits (performed_by, created_at DESC);

CREATE TABLE addresses (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name            text,
    street1         text NOT NULL,
    street2         text,
    city            text NOT NULL,
    state           text NOT NULL,
    zip             text,
    county          text,
    location_number text,
    parking_loading text,
    is_restaurant   boolean NOT NULL DEFAULT false,
    is_shared       boolean NOT NULL DEFAULT false,
    location        geography(Point, 4326),
    geocode_source  text,
    created_by      uuid REFERENCES users (id),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    deleted_at      timestamptz
);
CREATE INDEX addresses_location_gist ON addresses USING gist (location);
CREATE INDEX addresses_created_by_idx ON addresses (created_by, created_at DESC) WHERE deleted_at IS NULL;
CREATE TRIGGER addresses_updated_at BEFORE UPDATE ON addresses FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE user_addresses (
    user_id    uuid NOT NULL REFERENCES users (id),
    address_id uuid NOT NULL REFERENCES addresses (id),
    alias      text,
    is_default boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, address_id)
);
CREATE INDEX user_addresses_address_idx ON user_addresses (address_id);
CREATE UNIQUE INDEX user_addresses_one_default ON user_addresses (user_id) WHERE is_default;

-- Partners that send orders over the API (CaterValley, CaterCow). Keys are stored hashed.
CREATE TABLE api_partners (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    slug                text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9-]{2,40}$'),
    name                text NOT NULL,
    api_key_hash        text NOT NULL,
    order_prefix        text NOT NULL,
    pricing_config_slug text NOT NULL,
    webhook_url         text,
    webhook_secret_ref  text,
    is_active           boolean NOT NULL DEFAULT true,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER api_partners_updated_at BEFORE UPDATE ON api_partners FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Pricing is data: a configuration is a versioned row set; quotes record the version used.
CREATE TABLE pricing_configurations (
    id                           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    slug                         text NOT NULL,
    version                      integer NOT NULL CHECK (version >= 1),
    name                         text NOT NULL,
    is_active                    boolean NOT NULL DEFAULT false,
    distance_threshold_miles     numeric(6, 2) NOT NULL DEFAULT 10,
    mileage_rate_cents           bigint NOT NULL DEFAULT 0 CHECK (mileage_rate_cents >= 0),
    minimum_fee_cents            bigint NOT NULL DEFAULT 0 CHECK (minimum_fee_cents >= 0),
    bridge_toll_cents            bigint NOT NULL DEFAULT 0 CHECK (bridge_toll_cents >= 0),
    charge_bridge_toll           boolean NOT NULL DEFAULT false,
    beyond_threshold_uses_within_fee boolean NOT NULL DEFAULT true,
    daily_drive_discount_cents   bigint NOT NULL DEFAULT 0 CHECK (daily_drive_discount_cents >= 0),
    notes                        text,
    created_by                   uuid REFERENCES users (id),
    created_at                   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (slug, version)
);
CREATE UNIQUE INDEX pricing_configurations_one_active ON pricing_configurations (slug) WHERE is_active;

CREATE TABLE pricing_tiers (
    id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    configuration_id     uuid NOT NULL REFERENCES pricing_configurations (id),
    tier_number          integer NOT NULL CHECK (tier_number >= 1),
    min_head_count       integer NOT NULL CHECK (min_head_count >= 0),
    max_head_count       integer CHECK (max_head_count IS NULL OR max_head_count >= min_head_count),
    min_food_cost_cents  bigint NOT NULL CHECK (min_food_cost_cents >= 0),
    max_food_cost_cents  bigint CHECK (max_food_cost_cents IS NULL OR max_food_cost_cents >= min_food_cost_cents),
    within_fee_cents     bigint CHECK (within_fee_cents IS NULL OR within_fee_cents >= 0),
    beyond_fee_cents     bigint CHECK (beyond_fee_cents IS NULL OR beyond_fee_cents >= 0),
    -- Percentage of food cost in basis points (1000 = 10%), for open-ended top tiers.
    food_cost_basis_points integer CHECK (food_cost_basis_points IS NULL OR food_cost_basis_points BETWEEN 0 AND 10000),
    UNIQUE (configuration_id, tier_number),
    CHECK (within_fee_cents IS NOT NULL OR food_cost_basis_points IS NOT NULL)
);

-- Catering requests and on-demand deliveries share one table: one order number space,
-- one status machine, one history and one dispatch model. Type-specific columns are
-- checked per type.
CREATE TABLE orders (
    id                    uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    order_number          text NOT NULL CHECK (length(order_number) BETWEEN 1 AND 64),
    order_type            text NOT NULL CHECK (order_type IN ('CATERING', 'ON_DEMAND')),
    user_id               uuid NOT NULL REFERENCES users (id),
    partner_id            uuid REFERENCES api_partners (id),
    partner_order_code    text,
    pickup_address_id     uuid NOT NULL REFERENCES addresses (id),
    delivery_address_id   uuid NOT NULL REFERENCES addresses (id),
    status                text NOT NULL DEFAULT 'ACTIVE'
        CHECK (status IN ('ACTIVE', 'ASSIGNED', 'CANCELLED', 'COMPLETED', 'PENDING', 'CONFIRMED', 'IN_PROGRESS', 'DELIVERED')),
    driver_status         text
        CHECK (driver_status IN ('ASSIGNED', 'EN_ROUTE_TO_VENDOR', 'ARRIVED_AT_VENDOR', 'PICKED_UP', 'EN_ROUTE_TO_CLIENT', 'ARRIVED_TO_CLIENT', 'COMPLETED')),
    pickup_date_time      timestamptz NOT NULL,
    arrival_date_time     timestamptz NOT NULL,
    complete_date_time    timestamptz,
    brokerage             text,
    client_attention      text,
    pickup_notes          text,
    special_notes         text,
    -- catering
    headcount             integer CHECK (headcount IS NULL OR headcount >= 1),
    need_host             text CHECK (need_host IN ('YES', 'NO')),
    hours_needed          numeric(5, 2) CHECK (hours_needed IS NULL OR hours_needed >= 0),
    number_of_hosts       integer CHECK (number_of_hosts IS NULL OR number_of_hosts >= 0),
    -- on-demand
    item_delivered        text,
    vehicle_type          text CHECK (vehicle_type IN ('CAR', 'VAN', 'TRUCK')),
    length_in             numeric(8, 2),
    width_in              numeric(8, 2),
    height_in             numeric(8, 2),
    weight_lb             numeric(8, 2),
    -- money and pricing
    order_total_cents     bigint NOT NULL DEFAULT 0 CHECK (order_total_cents >= 0),
    tip_cents             bigint NOT NULL DEFAULT 0 CHECK (tip_cents >= 0),
    delivery_fee_cents    bigint CHECK (delivery_fee_cents IS NULL OR delivery_fee_cents >= 0),
    delivery_distance_miles numeric(8, 2),
    pricing_configuration_id uuid REFERENCES pricing_configurations (id),
    needs_manual_review   boolean NOT NULL DEFAULT false,
    cancellation_reason   text,
    metadata              jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    deleted_at            timestamptz,
    CHECK (order_type <> 'CATERING' OR headcount IS NOT NULL),
    CHECK (order_type <> 'ON_DEMAND' OR item_delivered IS NOT NULL),
    CHECK (arrival_date_time >= pickup_date_time)
);
CREATE UNIQUE INDEX orders_order_number_key ON orders (order_number) WHERE deleted_at IS NULL;
CREATE INDEX orders_user_status_idx ON orders (user_id, status, created_at DESC) WHERE deleted_at IS NULL;
CREATE INDEX orders_user_created_idx ON orders (user_id, created_at DESC, id DESC) WHERE deleted_at IS NULL;
CREATE INDEX orders_status_created_idx ON orders (status, created_at DESC) WHERE deleted_at IS NULL;
CREATE INDEX orders_created_idx ON orders (created_at DESC, id DESC) WHERE deleted_at IS NULL;
CREATE INDEX orders_pickup_time_idx ON orders (pickup_date_time);
CREATE INDEX orders_arrival_time_idx ON orders (arrival_date_time);
CREATE INDEX orders_partner_code_idx ON orders (partner_id, partner_order_code) WHERE partner_id IS NOT NULL;
CREATE INDEX orders_pickup_address_idx ON orders (pickup_address_id);
CREATE INDEX orders_delivery_address_idx ON orders (delivery_address_id);
CREATE TRIGGER orders_updated_at BEFORE UPDATE ON orders FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Every status change: who, when, from, to, where.
CREATE TABLE order_status_history (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id           uuid NOT NULL REFERENCES orders (id),
    from_status        text,
    to_status          text NOT NULL,
    from_driver_status text,
    to_driver_status   text,
    actor_id           uuid,
    actor_type         text NOT NULL CHECK (actor_type IN ('USER', 'PARTNER', 'SYSTEM')),
    location           geography(Point, 4326),
    note               text,
    created_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX order_status_history_order_idx ON order_status_history (order_id, created_at DESC, id DESC);

CREATE TABLE drivers (
    id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id              uuid NOT NULL UNIQUE REFERENCES users (id),
    employee_id          text UNIQUE,
    vehicle_number       text,
    vehicle_type         text CHECK (vehicle_type IN ('CAR', 'VAN', 'TRUCK')),
    phone                text,
    license_number       text,
    is_active            boolean NOT NULL DEFAULT true,
    is_on_duty           boolean NOT NULL DEFAULT false,
    last_known_location  geography(Point, 4326),
    last_location_update timestamptz,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    deleted_at           timestamptz
);
-- Nearest-driver search only ever looks at drivers who can take work.
CREATE INDEX drivers_available_location_gist ON drivers USING gist (last_known_location)
    WHERE is_active AND is_on_duty AND deleted_at IS NULL;
CREATE INDEX drivers_active_idx ON drivers (is_active, is_on_duty) WHERE deleted_at IS NULL;
CREATE TRIGGER drivers_updated_at BEFORE UPDATE ON drivers FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE dispatches (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    order_id      uuid NOT NULL REFERENCES orders (id),
    driver_id     uuid NOT NULL REFERENCES drivers (id),
    assigned_by   uuid REFERENCES users (id),
    assigned_at   timestamptz NOT NULL DEFAULT now(),
    unassigned_at timestamptz
);
-- At most one current dispatch per order.
CREATE UNIQUE INDEX dispatches_current_order_key ON dispatches (order_id) WHERE unassigned_at IS NULL;
CREATE INDEX dispatches_driver_idx ON dispatches (driver_id, assigned_at DESC);

CREATE TABLE driver_shifts (
    id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    driver_id            uuid NOT NULL REFERENCES drivers (id),
    start_time           timestamptz NOT NULL DEFAULT now(),
    end_time             timestamptz,
    start_location       geography(Point, 4326),
    end_location         geography(Point, 4326),
    total_distance_miles numeric(8, 2) NOT NULL DEFAULT 0,
    delivery_count       integer NOT NULL DEFAULT 0,
    status               text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused', 'completed')),
    metadata             jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    CHECK (end_time IS NULL OR end_time >= start_time)
);
CREATE UNIQUE INDEX driver_shifts_one_open ON driver_shifts (driver_id) WHERE status <> 'completed';
CREATE INDEX driver_shifts_driver_idx ON driver_shifts (driver_id, start_time DESC);
CREATE TRIGGER driver_shifts_updated_at BEFORE UPDATE ON driver_shifts FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE driver_locations (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    driver_id     uuid NOT NULL REFERENCES drivers (id),
    shift_id      uuid REFERENCES driver_shifts (id),
    location      geography(Point, 4326) NOT NULL,
    accuracy_m    real,
    speed_mps     real,
    heading_deg   real,
    altitude_m    real,
    battery_level smallint CHECK (battery_level IS NULL OR battery_level BETWEEN 0 AND 100),
    is_moving     boolean,
    activity_type text,
    recorded_at   timestamptz NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX driver_locations_driver_time_idx ON driver_locations (driver_id, recorded_at DESC);
CREATE INDEX driver_locations_location_gist ON driver_locations USING gist (location);
CREATE INDEX driver_locations_recorded_brin ON driver_locations USING brin (recorded_at);

CREATE TABLE deliveries (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    order_id          uuid REFERENCES orders (id),
    driver_id         uuid NOT NULL REFERENCES drivers (id),
    shift_id          uuid REFERENCES driver_shifts (id),
    status            text NOT NULL DEFAULT 'ASSIGNED'
        CHECK (status IN ('ASSIGNED', 'EN_ROUTE_TO_VENDOR', 'ARRIVED_AT_VENDOR', 'PICKED_UP', 'EN_ROUTE_TO_CLIENT', 'ARRIVED_TO_CLIENT', 'COMPLETED')),
    pickup_location   geography(Point, 4326),
    delivery_location geography(Point, 4326),
    estimated_arrival timestamptz,
    actual_arrival    timestamptz,
    proof_of_delivery text,
    delivery_notes    text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX deliveries_driver_status_idx ON deliveries (driver_id, status);
CREATE INDEX deliveries_order_idx ON deliveries (order_id);
CREATE INDEX deliveries_shift_idx ON deliveries (shift_id);
CREATE TRIGGER deliveries_updated_at BEFORE UPDATE ON deliveries FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Files live in S3; this row records who owns each object.
CREATE TABLE file_uploads (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id      uuid NOT NULL REFERENCES users (id),
    order_id     uuid REFERENCES orders (id),
    file_name    text NOT NULL,
    file_type    text NOT NULL,
    file_size    bigint NOT NULL CHECK (file_size >= 0),
    s3_key       text NOT NULL UNIQUE,
    category     text,
    is_temporary boolean NOT NULL DEFAULT false,
    uploaded_at  timestamptz NOT NULL DEFAULT now(),
    deleted_at   timestamptz
);
CREATE INDEX file_uploads_user_idx ON file_uploads (user_id, uploaded_at DESC) WHERE deleted_at IS NULL;
CREATE INDEX file_uploads_order_idx ON file_uploads (order_id) WHERE deleted_at IS NULL;
