"""The audience of a campaign: recipients by mailbox provider, and the list cleaned before it is sent."""
