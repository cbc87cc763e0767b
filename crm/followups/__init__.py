"""Follow-ups: dated tasks for officers, made by hand or by workflow effects."""
