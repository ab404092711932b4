INSERT INTO country (country_id, country, last_update) VALUES (8, 'Australia', '2006-02-15 04:44:00');
INSERT INTO country (country_id, country, last_update) VALUES (20, 'Canada', '2006-02-15 04:44:00');
INSERT INTO country (country_id, country, last_update) VALUES (39, 'Greece', '2006-02-15 04:44:00');
INSERT INTO country (country_id, country, last_update) VALUES (50, 'Japan', '2006-02-15 04:44:00');
INSERT INTO country (country_id, country, last_update) VALUES (64, 'Myanmar', '2006-02-15 04:44:00');
INSERT INTO country (country_id, country, last_update) VALUES (92, 'Taiwan', '2006-02-15 04:44:00');
INSERT INTO country (country_id, country, last_update) VALUES (103, 'United States', '2006-02-15 04:44:00');
INSERT INTO country (country_id, country, last_update) VALUES (108, 'Yugoslavia', '2006-02-15 04:44:00');

INSERT INTO city (city_id, city, country_id, last_update) VALUES (38, 'Athenai', 39, '2006-02-15 04:45:25');
INSERT INTO city (city_id, city, country_id, last_update) VALUES (280, 'Kragujevac', 108, '2006-02-15 04:45:25');
INSERT INTO city (city_id, city, country_id, last_update) VALUES (295, 'Laredo', 103, '2006-02-15 04:45:25');
INSERT INTO city (city_id, city, country_id, last_update) VALUES (300, 'Lethbridge', 20, '2006-02-15 04:45:25');
INSERT INTO city (city_id, city, country_id, last_update) VALUES (349, 'Myingyan', 64, '2006-02-15 04:45:25');
INSERT INTO city (city_id, city, country_id, last_update) VALUES (361, 'Nantou', 92, '2006-02-15 04:45:25');
INSERT INTO city (city_id, city, country_id, last_update) VALUES (449, 'San Bernardino', 103, '2006-02-15 04:45:25');
INSERT INTO city (city_id, city, country_id, last_update) VALUES (463, 'Sasebo', 50, '2006-02-15 04:45:25');
INSERT INTO city (city_id, city, country_id, last_update) VALUES (576, 'Woodridge', 8, '2006-02-15 04:45:25');

INSERT INTO address (address_id, address, address2, district, city_id, postal_code, phone, last_update) VALUES (1, '47 MySakila Drive', NULL, ' ', 300, NULL, ' ', '2006-02-15 04:45:30');
INSERT INTO address (address_id, address, address2, district, city_id, postal_code, phone, last_update) VALUES (2, '28 MySQL Boulevard', NULL, ' ', 576, NULL, ' ', '2006-02-15 04:45:30');
INSERT INTO address (address_id, address, address2, district, city_id, postal_code, phone, last_update) VALUES (3, '23 Workhaven Lane', NULL, ' ', 300, NULL, ' ', '2006-02-15 04:45:30');
INSERT INTO address (address_id, address, address2, district, city_id, postal_code, phone, last_update) VALUES (4, '1411 Lillydale Drive', NULL, ' ', 576, NULL, ' ', '2006-02-15 04:45:30');
INSERT INTO address (address_id, address, address2, district, city_id, postal_code, phone, last_update) VALUES (5, '1913 Hanoi Way', NULL, ' ', 463, '35200', ' ', '2006-02-15 04:45:30');
INSERT INTO address (address_id, address, address2, district, city_id, postal_code, phone, last_update) VALUES (6, '1121 Loja Avenue', NULL, ' ', 449, '17886', ' ', '2006-02-15 04:45:30');
INSERT INTO address (address_id, address, address2, district, city_id, postal_code, phone, last_update) VALUES (7, '692 Joliet Street', NULL, ' ', 38, '83579', ' ', '2006-02-15 04:45:30');
INSERT INTO address (address_id, address, address2, district, city_id, postal_code, phone, last_update) VALUES (8, '1566 Inegl Manor', NULL, ' ', 349, '53561', ' ', '2006-02-15 04:45:30');
INSERT INTO address (address_id, address, address2, district, city_id, postal_code, phone, last_update) VALUES (9, '53 Idfu Parkway', NULL, ' ', 361, '42399', ' ', '2006-02-15 04:45:30');
INSERT INTO address (address_id, address, address2, district, city_id, postal_code, phone, last_update) VALUES (10, '1795 Santiago de Compostela Way', NULL, ' ', 295, '18743', ' ', '2006-02-15 04:45:30');
INSERT INTO address (address_id, address, address2, district, city_id, postal_code, phone, last_update) VALUES (11, '900 Santiago de Compostela Parkway', NULL, ' ', 280, '93896', ' ', '2006-02-15 04:45:30');

INSERT INTO language (language_id, name, last_update) VALUES (1, 'English', '2006-02-15 05:02:19');

INSERT INTO film (film_id, title, description, release_year, language_id, original_language_id, rental_duration, rental_rate, length, replacement_cost, rating, special_features, last_update) VALUES (663, 'PATIENT SISTER', 'A Emotional Epistle of a Squirrel And a Robot who must Confront a Lumberjack in Soviet Georgia', '2006', 1, NULL, 7, 0.99, 99, 29.99, 'NC-17', 'Trailers,Commentaries', '2006-02-15 05:03:42');

INSERT INTO staff (staff_id, first_name, last_name, address_id, picture, email, store_id, active, username, password, last_update) VALUES (1, 'Mike', 'Hillyer', 3, NULL, 'Mike.Hillyer@sakilastaff.com', 1, '1', 'Mike', '8cb2237d0679ca88db6464eac60da96345513964', '2006-02-15 04:57:16');
INSERT INTO staff (staff_id, first_name, last_name, address_id, picture, email, store_id, active, username, password, last_update) VALUES (2, 'Jon', 'Stephens', 4, NULL, 'Jon.Stephens@sakilastaff.com', 2, '1', 'Jon', '8cb2237d0679ca88db6464eac60da96345513964', '2006-02-15 04:57:16');

INSERT INTO store (store_id, manager_staff_id, address_id, last_update) VALUES (1, 1, 1, '2006-02-15 04:57:12');
INSERT INTO store (store_id, manager_staff_id, address_id, last_update) VALUES (2, 2, 2, '2006-02-15 04:57:12');

INSERT INTO inventory (inventory_id, film_id, store_id, last_update) VALUES (3021, 663, 2, '2006-02-15 05:09:17');

INSERT INTO customer (customer_id, store_id, first_name, last_name, email, address_id, active, create_date, last_update) VALUES (1, 1, 'MARY', 'SMITH', 'MARY.SMITH@sakilacustomer.org', 5, '1', '2006-02-14 22:04:36', '2006-02-15 04:57:20');
INSERT INTO customer (customer_id, store_id, first_name, last_name, email, address_id, active, create_date, last_update) VALUES (2, 1, 'PATRICIA', 'JOHNSON', 'PATRICIA.JOHNSON@sakilacustomer.org', 6, '1', '2006-02-14 22:04:36', '2006-02-15 04:57:20');
INSERT INTO customer (customer_id, store_id, first_name, last_name, email, address_id, active, create_date, last_update) VALUES (3, 1, 'LINDA', 'WILLIAMS', 'LINDA.WILLIAMS@sakilacustomer.org', 7, '1', '2006-02-14 22:04:36', '2006-02-15 04:57:20');
INSERT INTO customer (customer_id, store_id, first_name, last_name, email, address_id, active, create_date, last_update) VALUES (4, 2, 'BARBARA', 'JONES', 'BARBARA.JONES@sakilacustomer.org', 8, '1', '2006-02-14 22:04:36', '2006-02-15 04:57:20');
INSERT INTO customer (customer_id, store_id, first_name, last_name, email, address_id, active, create_date, last_update) VALUES (5, 1, 'ELIZABETH', 'BROWN', 'ELIZABETH.BROWN@sakilacustomer.org', 9, '1', '2006-02-14 22:04:36', '2006-02-15 04:57:20');
INSERT INTO customer (customer_id, store_id, first_name, last_name, email, address_id, active, create_date, last_update) VALUES (6, 2, 'JENNIFER', 'DAVIS', 'JENNIFER.DAVIS@sakilacustomer.org', 10, '1', '2006-02-14 22:04:36', '2006-02-15 04:57:20');
INSERT INTO customer (customer_id, store_id, first_name, last_name, email, address_id, active, create_date, last_update) VALUES (7, 1, 'MARIA', 'MILLER', 'MARIA.MILLER@sakilacustomer.org', 11, '1', '2006-02-14 22:04:36', '2006-02-15 04:57:20');

INSERT INTO rental (rental_id, rental_date, inventory_id, customer_id, return_date, staff_id, last_update) VALUES (76, '2005-05-25 11:30:37', 3021, 1, '2005-06-03 12:00:37', 2, '2006-02-15 21:30:53');

INSERT INTO payment (payment_id, customer_id, staff_id, rental_id, amount, payment_date, last_update) VALUES (1, 1, 1, 76, 2.99, '2005-05-25 11:30:37', '2006-02-15 22:12:30');
INSERT INTO payment (payment_id, customer_id, staff_id, rental_id, amount, payment_date, last_update) VALUES (2, 1, 1, NULL, 0.99, '2005-05-28 10:35:23', '2006-02-15 22:12:30');
INSERT INTO payment (payment_id, customer_id, staff_id, rental_id, amount, payment_date, last_update) VALUES (3, 1, 1, NULL, 5.99, '2005-06-15 00:54:12', '2006-02-15 22:12:30');
INSERT INTO payment (payment_id, customer_id, staff_id, rental_id, amount, payment_date, last_update) VALUES (4, 1, 2, NULL, 0.99, '2005-06-15 18:02:53', '2006-02-15 22:12:30');
INSERT INTO payment (payment_id, customer_id, staff_id, rental_id, amount, payment_date, last_update) VALUES (5, 1, 2, NULL, 9.99, '2005-06-15 21:08:46', '2006-02-15 22:12:30');
INSERT INTO payment (payment_id, customer_id, staff_id, rental_id, amount, payment_date, last_update) VALUES (6, 1, 1, NULL, 4.99, '2005-06-16 15:18:57', '2006-02-15 22:12:30');
INSERT INTO payment (payment_id, customer_id, staff_id, rental_id, amount, payment_date, last_update) VALUES (7, 1, 1, NULL, 4.99, '2005-06-18 08:41:48', '2006-02-15 22:12:30');
INSERT INTO payment (payment_id, customer_id, staff_id, rental_id, amount, payment_date, last_update) VALUES (8, 1, 2, NULL, 0.99, '2005-06-18 13:33:59', '2006-02-15 22:12:30');
INSERT INTO payment (payment_id, customer_id, staff_id, rental_id, amount, payment_date, last_update) VALUES (9, 1, 1, NULL, 3.99, '2005-06-21 06:24:45', '2006-02-15 22:12:30');
INSERT INTO payment (payment_id, customer_id, staff_id, rental_id, amount, payment_date, last_update) VALUES (10, 1, 2, NULL, 5.99, '2005-07-08 03:17:05', '2006-02-15 22:12:30');
INSERT INTO payment (payment_id, customer_id, staff_id, rental_id, amount, payment_date, last_update) VALUES (11, 1, 1, NULL, 5.99, '2005-07-08 07:33:56', '2006-02-15 22:12:30');
INSERT INTO payment (payment_id, customer_id, staff_id, rental_id, amount, payment_date, last_update) VALUES (12, 1, 1, NULL, 4.99, '2005-07-09 13:24:07', '2006-02-15 22:12:30');
INSERT INTO payment (payment_id, customer_id, staff_id, rental_id, amount, payment_date, last_update) VALUES (13, 1, 1, NULL, 4.99, '2005-07-09 16:38:01', '2006-02-15 22:12:30');
INSERT INTO payment (payment_id, customer_id, staff_id, rental_id, amount, payment_date, last_update) VALUES (14, 1, 1, NULL, 7.99, '2005-07-11 10:13:46', '2006-02-15 22:12:30');
INSERT INTO payment (payment_id, customer_id, staff_id, rental_id, amount, payment_date, last_update) VALUES (15, 1, 2, NULL, 2.99, '2005-07-27 11:31:22', '2006-02-15 22:12:30');
INSERT INTO payment (payment_id, customer_id, staff_id, rental_id, amount, payment_date, last_update) VALUES (16, 1, 1, NULL, 4.99, '2005-07-28 09:04:45', '2006-02-15 22:12:30');
INSERT INTO payment (payment_id, customer_id, staff_id, rental_id, amount, payment_date, last_update) VALUES (17, 1, 2, NULL, 4.99, '2005-07-28 16:18:23', '2006-02-15 22:12:30');
INSERT INTO payment (payment_id, customer_id, staff_id, rental_id, amount, payment_date, last_update) VALUES (18, 1, 1, NULL, 0.99, '2005-07-28 17:33:39', '2006-02-15 22:12:30');
INSERT INTO payment (payment_id, customer_id, staff_id, rental_id, amount, payment_date, last_update) VALUES (19, 1, 2, NULL, 0.99, '2005-07-28 19:20:07', '2006-02-15 22:12:30');
INSERT INTO payment (payment_id, customer_id, staff_id, rental_id, amount, payment_date, last_update) VALUES (20, 1, 2, NULL, 2.99, '2005-07-29 03:58:49', '2006-02-15 22:12:30');
INSERT INTO payment (payment_id, customer_id, staff_id, rental_id, amount, payment_date, last_update) VALUES (21, 1, 2, NULL, 2.99, '2005-07-31 02:42:18', '2006-02-15 22:12:30');
INSERT INTO payment (payment_id, customer_id, staff_id, rental_id, amount, payment_date, last_update) VALUES (22, 1, 2, NULL, 4.99, '2005-08-01 08:51:04', '2006-02-15 22:12:30');
INSERT INTO payment (payment_id, customer_id, staff_id, rental_id, amount, payment_date, last_update) VALUES (23, 1, 2, NULL, 3.99, '2005-08-02 15:36:52', '2006-02-15 22:12:30');
INSERT INTO payment (payment_id, customer_id, staff_id, rental_id, amount, payment_date, last_update) VALUES (24, 1, 1, NULL, 0.99, '2005-08-02 18:01:38', '2006-02-15 22:12:30');
INSERT INTO payment (payment_id, customer_id, staff_id, rental_id, amount, payment_date, last_update) VALUES (25, 1, 2, NULL, 4.99, '2005-08-17 12:37:54', '2006-02-15 22:12:30');
INSERT INTO payment (payment_id, customer_id, staff_id, rental_id, amount, payment_date, last_update) VALUES (26, 1, 1, NULL, 0.99, '2005-08-18 03:57:29', '2006-02-15 22:12:30');
INSERT INTO payment (payment_id, customer_id, staff_id, rental_id, amount, payment_date, last_update) VALUES (27, 1, 2, NULL, 0.99, '2005-08-19 09:55:16', '2006-02-15 22:12:30');
INSERT INTO payment (payment_id, customer_id, staff_id, rental_id, amount, payment_date, last_update) VALUES (28, 1, 2, NULL, 2.99, '2005-08-19 13:56:54', '2006-02-15 22:12:30');
INSERT INTO payment (payment_id, customer_id, staff_id, rental_id, amount, payment_date, last_update) VALUES (29, 1, 1, NULL, 0.99, '2005-08-21 23:33:57', '2006-02-15 22:12:30');
INSERT INTO payment (payment_id, customer_id, staff_id, rental_id, amount, payment_date, last_update) VALUES (30, 1, 1, NULL, 1.99, '2005-08-22 01:27:57', '2006-02-15 22:12:30');
INSERT INTO payment (payment_id, customer_id, staff_id, rental_id, amount, payment_date, last_update) VALUES (31, 1, 2, NULL, 2.99, '2005-08-22 19:41:37', '2006-02-15 22:12:30');
INSERT INTO payment (payment_id, customer_id, staff_id, rental_id, amount, payment_date, last_update) VALUES (32, 1, 1, NULL, 5.99, '2005-08-22 20:03:46', '2006-02-15 22:12:30');
INSERT INTO payment (payment_id, customer_id, staff_id, rental_id, amount, payment_date, last_update) VALUES (33, 2, 1, NULL, 4.99, '2005-05-27 00:09:24', '2006-02-15 22:12:30');
INSERT INTO payment (payment_id, customer_id, staff_id, rental_id, amount, payment_date, last_update) VALUES (34, 2, 1, NULL, 2.99, '2005-06-17 20:54:58', '2006-02-15 22:12:30');
INSERT INTO payment (payment_id, customer_id, staff_id, rental_id, amount, payment_date, last_update) VALUES (35, 2, 1, NULL, 2.99, '2005-07-10 06:31:24', '2006-02-15 22:12:30');
INSERT INTO payment (payment_id, customer_id, staff_id, rental_id, amount, payment_date, last_update) VALUES (36, 2, 1, NULL, 6.99, '2005-07-10 12:38:56', '2006-02-15 22:12:30');
INSERT INTO payment (payment_id, customer_id, staff_id, rental_id, amount, payment_date, last_update) VALUES (37, 2, 2, NULL, 4.99, '2005-07-27 14:30:42', '2006-02-15 22:12:30');
INSERT INTO payment (payment_id, customer_id, staff_id, rental_id, amount, payment_date, last_update) VALUES (38, 2, 1, NULL, 5.99, '2005-07-27 15:23:02', '2006-02-15 22:12:30');
INSERT INTO payment (payment_id, customer_id, staff_id, rental_id, amount, payment_date, last_update) VALUES (39, 2, 2, NULL, 5.99, '2005-07-27 18:40:20', '2006-02-15 22:12:30');
INSERT INTO payment (payment_id, customer_id, staff_id, rental_id, amount, payment_date, last_update) VALUES (40, 2, 2, NULL, 5.99, '2005-07-29 00:12:59', '2006-02-15 22:12:30');
INSERT INTO payment (payment_id, customer_id, staff_id, rental_id, amount, payment_date, last_update) VALUES (146, 6, 2, NULL, 4.99, '2005-05-25 08:43:32', '2006-02-15 22:12:30');
INSERT INTO payment (payment_id, customer_id, staff_id, rental_id, amount, payment_date, last_update) VALUES (174, 7, 2, NULL, 5.99, '2005-05-25 06:04:08', '2006-02-15 22:12:30');
INSERT INTO payment (payment_id, customer_id, staff_id, rental_id, amount, payment_date, last_update) VALUES (175, 7, 2, NULL, 0.99, '2005-05-25 19:30:46', '2006-02-15 22:12:30');
