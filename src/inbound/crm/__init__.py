"""CRM sync: every contact in HubSpot, and what sales changes there, back here."""
