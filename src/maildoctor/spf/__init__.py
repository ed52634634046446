"""SPF: the RFC 7208 evaluator and the static analysis of a domain's SPF tree."""
