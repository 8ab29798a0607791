"""The email channel: IMAP fetch, a built-in SMTP/LMTP receiver, replies over SMTP.

Modules: config (the channel's settings), addresses (signed per-conversation reply addresses),
parse (raw MIME → ParsedEmail, pure), inbound (ParsedEmail → InboundMessage), outbound (building
and sending replies), imap (the mailbox fetcher), smtpd (the receiver), oauth (XOAUTH2 tokens).
"""
