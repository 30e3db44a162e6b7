-- The application's queries: the e-mail address is gone at head (0003)
SELECT name, email FROM customers WHERE id = 1;
SELECT o.id FROM orders o JOIN customers c ON c.id = o.customer_id;
