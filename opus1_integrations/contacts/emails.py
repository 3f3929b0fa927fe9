"""Which email addresses Mailchimp can take: email-validator's syntax check without DNS, ASCII local parts only,
and no documentation domains such as example.com."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email
from email_validator.rfc_constants import DOT_ATOM_TEXT, EMAIL_MAX_LENGTH

MAX_KNOWN_DOMAINS = 100_000
# Reserved for documentation (RFC 2606); email-validator accepts them without DNS, Mailchimp rejects them as fake.
EXAMPLE_DOMAINS = ("example.com", "example.net", "example.org", "example")


class EmailChecker:
    """Validates addresses with email-validator, answering repeats of a known-good domain without re-running it.

    For an all-ASCII address email-validator checks the local part (a dot-atom passes as is), the domain on its own,
    and the lengths of the whole address. So once it has accepted an address on a domain, another ASCII address
    on the same domain whose local part is a dot-atom is valid exactly when it fits the length limit: the same
    outcome, without the IDNA work. Everything else goes through email-validator.
    """

    def __init__(self) -> None:
        self._domain_lengths: dict[str, int] = {}

    def problem(self, address: str) -> str | None:
        """None when ``address`` (already trimmed) is valid; otherwise email-validator's explanation."""
        ascii_only = address.isascii()
        if ascii_only:
            local, _, domain = address.partition("@")
            longest = self._domain_lengths.get(domain)
            if longest is not None and DOT_ATOM_TEXT.match(local) and len(local) + 1 + longest <= EMAIL_MAX_LENGTH:
                return None
        try:
            valid = validate_email(address, check_deliverability=False, allow_smtputf8=False)
        except EmailNotValidError as error:
            return str(error)
        if any(valid.ascii_domain == d or valid.ascii_domain.endswith("." + d) for d in EXAMPLE_DOMAINS):
            return f"{valid.ascii_domain} is reserved for examples; Mailchimp rejects such addresses as fake."
        if ascii_only and len(self._domain_lengths) < MAX_KNOWN_DOMAINS:
            # validate_email checks the address with the domain as written, normalised and IDNA-encoded.
            self._domain_lengths[domain] = max(len(domain), len(valid.domain.encode()), len(valid.ascii_domain))
        return None
