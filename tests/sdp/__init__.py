"""Tests of takeback.sdp (a package so its module names cannot clash with other test directories)."""
