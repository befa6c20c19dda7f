"""Experience surveys: NPS, CES and CSAT asked at touchpoints of the journey, their figures,
and the follow-up of negative answers."""
