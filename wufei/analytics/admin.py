"""The cockpit has no models of its own: nothing to administer."""
