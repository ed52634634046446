"""The test inbox: an SMTP server that accepts mail for addresses it issued, stores it durably,
grades it in the background, and a web page and REST API that show the result."""
