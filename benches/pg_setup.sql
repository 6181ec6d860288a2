-- The anchor: the same booking insert in PostgreSQL 15, under an exclusion constraint, with
-- 1,000,000 bookings already in the table (60 barbers, 15-minute slots).
CREATE EXTENSION IF NOT EXISTS btree_gist;
DROP TABLE IF EXISTS bookings;
DROP SEQUENCE IF EXISTS slot_seq;
CREATE TABLE bookings (
  id bigserial PRIMARY KEY,
  barber_id int NOT NULL,
  client_id bigint NOT NULL,
  during tstzrange NOT NULL,
  status text NOT NULL DEFAULT 'confirmed',
  created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO bookings (barber_id, client_id, during)
SELECT s % 60, s % 200000,
       tstzrange(timestamptz '2020-01-01' + (s / 60) * interval '15 min',
                 timestamptz '2020-01-01' + (s / 60) * interval '15 min' + interval '15 min')
FROM generate_series(0, 999999) s;
ALTER TABLE bookings ADD CONSTRAINT no_overlap EXCLUDE USING gist (barber_id WITH =, during WITH &&);
CREATE INDEX ON bookings (client_id);
-- New bookings go after the existing ones, one slot per sequence value.
CREATE SEQUENCE slot_seq START 1000000;
VACUUM ANALYZE bookings;
