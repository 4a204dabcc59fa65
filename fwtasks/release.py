from invoke import Collection
ns = Collection("release")
