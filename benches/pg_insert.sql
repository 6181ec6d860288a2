INSERT INTO bookings (barber_id, client_id, during)
SELECT s % 60, s % 200000,
       tstzrange(timestamptz '2020-01-01' + (s / 60) * interval '15 min',
                 timestamptz '2020-01-01' + (s / 60) * interval '15 min' + interval '15 min')
FROM nextval('slot_seq') s;
