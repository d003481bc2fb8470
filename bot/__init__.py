"""iGOT Karmayogi helpdesk bot: a bilingual (Hindi/English) assistant for government employees."""
