"""Churn signals: an explainable at-risk score for customers and open opportunities."""
