"""Offline views of a bundle: pure functions from the model (or a raw member) to rows, records or JSON.

Nothing here prints or exits; the `ztbundle <view>` commands render what these return.
"""
