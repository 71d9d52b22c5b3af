"""Templates of the campaign types: each registered kind's package may hold a `templates/` directory
(`campaigns/types/<code>/templates/campaigns/<code>/…`), searched after the project's and the apps' own,
so a type's pages, landing call to act and dashboard parts come with its package."""

from django.template.loaders.filesystem import Loader as FilesystemLoader

from . import registry


class TypeTemplates(FilesystemLoader):
    def get_dirs(self):
        return [found for kind in registry.all() if (found := kind.templates_dir()) is not None]
