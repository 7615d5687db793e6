"""Recommendations from readers' own ratings: TF-IDF features and a linear model per reader.

Nothing here imports scikit-learn at import time: `bot.recommend.model` does, and only the
code that ranks loads it (see `App.recommender`).
"""
