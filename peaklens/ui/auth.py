"""The password form shown before anything else when ``ui_password`` is set (required off loopback)."""

from __future__ import annotations

import hmac

import streamlit as st

from peaklens.config import Settings

_PASSED = "auth::passed"


def password_ok(given: str, expected: str) -> bool:
    """Constant-time comparison, so response timing tells nothing about the password."""
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def gate(settings: Settings) -> bool:
    """True when the session may see the album; otherwise draws the password form and returns False."""
    if settings.ui_password is None or st.session_state.get(_PASSED):
        return True
    with st.form("login"):
        st.markdown("This album is protected. Enter the password set as `ui_password`.")
        given = st.text_input("Password", type="password", key="auth::password")
        submitted = st.form_submit_button("Open the album")
    if submitted:
        if password_ok(given, settings.ui_password.get_secret_value()):
            st.session_state[_PASSED] = True
            st.rerun()
        st.error("Wrong password.")
    return False
