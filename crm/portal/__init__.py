"""The public pages an action link opens: no account, no staff navigation, phone first."""
