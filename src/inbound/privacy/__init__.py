"""The right to erasure: a lead forgotten here and in the CRM."""
