"""Affiliate links and referral codes: merchants pay affiliates a commission on purchases that follow a
click, held through the refund window."""
