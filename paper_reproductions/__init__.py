"""The NIR paper's experiments (and the exact-gradient benchmark), installed as
``nirjax.reproductions``; each experiment is a folder with its script and README,
run by ``nirjax reproduce NAME``."""
