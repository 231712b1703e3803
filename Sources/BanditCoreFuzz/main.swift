print("BanditCoreFuzz: placeholder")
