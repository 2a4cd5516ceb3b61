"""Deep class-conditional generative oversamplers (Fajardo et al. 2021): CGAN, ACGAN, BAGAN, CVAE."""
