"""The outbox: every e-mail is stored with the change that caused it, then delivered."""
