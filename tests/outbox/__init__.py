"""Tests of the e-mail outbox: queueing, delivery over real SMTP, retries, resend, pages."""
