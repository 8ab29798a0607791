"""SMS through Twilio's Programmable Messaging API (docs/channels.md, "SMS (Twilio)")."""
