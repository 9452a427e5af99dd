"""Answers about a network: which initialization to use, and why."""

from jaxinit.advice._candidates import Candidate as Candidate
from jaxinit.advice._recommend import Recommendation as Recommendation
from jaxinit.advice._recommend import recommend as recommend
